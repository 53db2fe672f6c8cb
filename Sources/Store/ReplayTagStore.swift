import CLMDB
import PosternSystem

/// Per-epoch replay tags on a `RecordStore`, so a restarted relay still refuses packets it processed
/// before the restart (docs/PROTOCOL.md §2.8). One named database per epoch (`replay.<epoch>`, key = the
/// 16-byte tag, empty value), so dropping an epoch with its key is one `mdb_drop`.
public final class ReplayTagStore {
    public let store: RecordStore
    var dbs: [UInt32: MDB_dbi] = [:]

    public init(store: RecordStore) { self.store = store }

    func db(_ txn: OpaquePointer, epoch: UInt32, create: Bool) throws(StoreError) -> MDB_dbi? {
        if let dbi = dbs[epoch] { return dbi }
        var dbi: MDB_dbi = 0
        let rc = "replay.\(epoch)".withCString { mdb_dbi_open(txn, $0, create ? UInt32(MDB_CREATE) : 0, &dbi) }
        if rc == MDB_NOTFOUND { return nil }
        try LMDBEnvironment.check(rc)
        dbs[epoch] = dbi
        return dbi
    }

    /// Adds tags of `epoch` to the open batch (a tag already there is fine); durable at the next flush.
    public func record(epoch: UInt32, _ tags: UnsafeBufferPointer<(UInt64, UInt64)>) throws(StoreError) {
        guard !tags.isEmpty else { return }
        let txn = try store.writeTxn()
        do throws(StoreError) {
            guard let dbi = try db(txn, epoch: epoch, create: true) else { return }
            var value = MDB_val(mv_size: 0, mv_data: nil)
            for i in 0..<tags.count {
                var tag = tags[i]
                let rc = withUnsafeBytes(of: &tag) { t in
                    var key = val(t.baseAddress!, 16)
                    return mdb_put(txn, dbi, &key, &value, UInt32(MDB_NOOVERWRITE))
                }
                if rc != 0 && rc != MDB_KEYEXIST { throw LMDBEnvironment.error(rc) }
            }
        } catch {
            store.abortBatch(error)
            dbs.removeAll()
            throw error
        }
    }

    /// Every tag recorded for `epoch` (committing the open batch first).
    public func tags(epoch: UInt32) throws(StoreError) -> [(UInt64, UInt64)] {
        try store.flush()
        let txn = try store.env.begin(readOnly: true)
        defer { mdb_txn_abort(txn) }
        var dbi: MDB_dbi = 0
        let rc = "replay.\(epoch)".withCString { mdb_dbi_open(txn, $0, 0, &dbi) }
        if rc == MDB_NOTFOUND { return [] }
        try LMDBEnvironment.check(rc)
        var cursor: OpaquePointer?
        try LMDBEnvironment.check(mdb_cursor_open(txn, dbi, &cursor))
        defer { mdb_cursor_close(cursor) }
        var out: [(UInt64, UInt64)] = []
        var key = MDB_val(), value = MDB_val()
        var op = MDB_FIRST
        while mdb_cursor_get(cursor, &key, &value, op) == 0 {
            op = MDB_NEXT
            guard key.mv_size == 16, let p = key.mv_data else { continue }
            out.append((p.loadUnaligned(as: UInt64.self), p.loadUnaligned(fromByteOffset: 8, as: UInt64.self)))
        }
        return out
    }

    /// Forgets every tag of `epoch` (its key was deleted, so its packets are refused anyway); durable at
    /// the next flush.
    public func drop(epoch: UInt32) throws(StoreError) {
        let txn = try store.writeTxn()
        do throws(StoreError) {
            guard let dbi = try db(txn, epoch: epoch, create: false) else { return }
            try LMDBEnvironment.check(mdb_drop(txn, dbi, 1))
            dbs[epoch] = nil
        } catch {
            store.abortBatch(error)
            dbs.removeAll()
            throw error
        }
    }

    /// Epochs that have tags on disk.
    public func epochs() throws(StoreError) -> [UInt32] {
        try store.flush()
        let txn = try store.env.begin(readOnly: true)
        defer { mdb_txn_abort(txn) }
        var main: MDB_dbi = 0
        try LMDBEnvironment.check(mdb_dbi_open(txn, nil, 0, &main))
        var cursor: OpaquePointer?
        try LMDBEnvironment.check(mdb_cursor_open(txn, main, &cursor))
        defer { mdb_cursor_close(cursor) }
        var out: [UInt32] = []
        var key = MDB_val(), value = MDB_val()
        var op = MDB_FIRST
        while mdb_cursor_get(cursor, &key, &value, op) == 0 {
            op = MDB_NEXT
            guard let p = key.mv_data else { continue }
            let name = String(decoding: UnsafeRawBufferPointer(start: p, count: key.mv_size), as: UTF8.self)
            if name.hasPrefix("replay."), let e = UInt32(name.dropFirst(7)) { out.append(e) }
        }
        return out
    }
}
