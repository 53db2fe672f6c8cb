import CLMDB
import PosternStore
import PosternCrypto

/// Retention: TTL expiry in bounded steps, and oldest-first eviction under the global byte cap. Both walk
/// the internal indexes (ordered by id or by expiry time), never the address space.
extension MailboxStore {
    /// Removes up to `maxWork` (default `config.expiryWorkPerTick`) messages whose TTL has passed, oldest
    /// expiry first. Returns how many were removed; call again on the next tick if it hit the bound.
    /// Durable at the next flush.
    @discardableResult
    public func expire(maxWork: Int? = nil) throws(MailboxError) -> Int {
        let limit = maxWork ?? config.expiryWorkPerTick
        let now = UInt64(bitPattern: clock())
        // Nothing due: no write transaction, so an idle gateway commits (and writes its SD card) never.
        guard try nextExpiry().map({ $0 <= now }) ?? false else { return 0 }
        let txn = try writeTxn()
        var cursor: OpaquePointer?
        do {
            try lmdb(mdb_cursor_open(txn, byExpiry, &cursor))
        } catch {
            abortBatch(error)
            throw error
        }
        var removed = 0
        var victims: [(Bytes32, UInt64, UInt64)] = []
        var key = MDB_val(), value = MDB_val()
        var rc = mdb_cursor_get(cursor, &key, &value, MDB_FIRST)
        while rc == 0, victims.count < limit, key.mv_size == 16 {
            let expiresAt = loadBE(key.mv_data!, 0)
            guard expiresAt <= now else { break }
            victims.append((Bytes32(value.mv_data!), loadBE(key.mv_data!, 8), expiresAt))
            rc = mdb_cursor_get(cursor, &key, &value, MDB_NEXT)
        }
        mdb_cursor_close(cursor)
        do {
            for (address, id, expiresAt) in victims {
                address.store(to: scratch)
                storeBE(id, scratch, 32)
                var mk = val(scratch, 40), mv = MDB_val()
                guard mdb_get(txn, messages, &mk, &mv) == 0 else { continue }
                try remove(txn, address: address, id: id, expiresAt: expiresAt, size: mv.mv_size - 8)
                removed += 1
            }
        } catch {
            abortBatch(error)
            throw error
        }
        return removed
    }

    /// The earliest expiry time stored (seen through the open batch if there is one, else a read-only
    /// transaction), or nil when the store is empty.
    func nextExpiry() throws(MailboxError) -> UInt64? {
        let batch = store.batch
        let txn: OpaquePointer
        if let batch { txn = batch } else { txn = try readTxn() }
        defer { if batch == nil { mdb_txn_abort(txn) } }
        var cursor: OpaquePointer?
        try lmdb(mdb_cursor_open(txn, byExpiry, &cursor))
        defer { mdb_cursor_close(cursor) }
        var key = MDB_val(), value = MDB_val()
        let rc = mdb_cursor_get(cursor, &key, &value, MDB_FIRST)
        if rc == MDB_NOTFOUND { return nil }
        try lmdb(rc)
        guard key.mv_size == 16, let p = key.mv_data else { return nil }
        return loadBE(p, 0)
    }

    /// Evicts the message with the smallest id (the oldest deposit).
    func evictOldest(_ txn: OpaquePointer) throws(MailboxError) {
        var cursor: OpaquePointer?
        try lmdb(mdb_cursor_open(txn, byAge, &cursor))
        var key = MDB_val(), value = MDB_val()
        let rc = mdb_cursor_get(cursor, &key, &value, MDB_FIRST)
        mdb_cursor_close(cursor)
        if rc == MDB_NOTFOUND { messageCount = 0; totalBytes = 0; return }
        try lmdb(rc)
        let id = loadBE(key.mv_data!, 0)
        let address = Bytes32(value.mv_data!)
        let expiresAt = loadBE(value.mv_data!, 32)
        let size = Int(UInt32(bigEndian: value.mv_data!.loadUnaligned(fromByteOffset: 40, as: UInt32.self)))
        try remove(txn, address: address, id: id, expiresAt: expiresAt, size: size)
    }
}
