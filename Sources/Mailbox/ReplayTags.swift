import CLMDB
import PosternStore
import PosternSystem

/// Per-epoch replay tags, persisted so a restarted relay still refuses packets it processed before the
/// restart. One named database per epoch (`replay.<epoch>`), so dropping an epoch is one `mdb_drop`
/// instead of a delete per tag.
extension MailboxStore {
    func replayDB(_ txn: OpaquePointer, epoch: UInt32, create: Bool) throws(MailboxError) -> MDB_dbi? {
        if let dbi = replayDBs[epoch] { return dbi }
        var dbi: MDB_dbi = 0
        let rc = "replay.\(epoch)".withCString { mdb_dbi_open(txn, $0, create ? UInt32(MDB_CREATE) : 0, &dbi) }
        if rc == MDB_NOTFOUND { return nil }
        try lmdb(rc)
        replayDBs[epoch] = dbi
        return dbi
    }

    /// Records `tag` for `epoch`: `.new` the first time, `.seen` for a replay, `.full` when the epoch
    /// already holds `config.replayTagsPerEpoch` tags. Durable at the next flush.
    public func recordReplayTag(epoch: UInt32, tag: (UInt64, UInt64)) throws(MailboxError) -> TagOutcome {
        let txn = try writeTxn()
        do {
            guard let dbi = try replayDB(txn, epoch: epoch, create: true) else { return .full }
            var t = tag
            return try withUnsafeBytes(of: &t) { (tp) throws(MailboxError) -> TagOutcome in
                var key = val(tp.baseAddress!, 16)
                var value = MDB_val(mv_size: 0, mv_data: nil)
                var probe = MDB_val()
                if mdb_get(txn, dbi, &key, &probe) == 0 { return .seen }
                var stat = MDB_stat()
                mdb_stat(txn, dbi, &stat)
                if Int(stat.ms_entries) >= config.replayTagsPerEpoch { return .full }
                try lmdb(mdb_put(txn, dbi, &key, &value, UInt32(MDB_NOOVERWRITE)))
                return .new
            }
        } catch {
            abortBatch(error)
            throw error
        }
    }

    /// Forgets every tag of `epoch` (its key has been deleted, so its packets are refused anyway).
    public func dropReplayEpoch(_ epoch: UInt32) throws(MailboxError) {
        let txn = try writeTxn()
        do {
            guard let dbi = try replayDB(txn, epoch: epoch, create: false) else { return }
            try lmdb(mdb_drop(txn, dbi, 1))
            replayDBs[epoch] = nil
        } catch {
            abortBatch(error)
            throw error
        }
    }

    /// Tags recorded for `epoch`.
    public func replayTagCount(epoch: UInt32) throws(MailboxError) -> Int {
        try flush()
        let txn = try readTxn()
        defer { mdb_txn_abort(txn) }
        var dbi: MDB_dbi = 0
        let rc = "replay.\(epoch)".withCString { mdb_dbi_open(txn, $0, 0, &dbi) }
        if rc == MDB_NOTFOUND { return 0 }
        try lmdb(rc)
        var stat = MDB_stat()
        mdb_stat(txn, dbi, &stat)
        return Int(stat.ms_entries)
    }
}
