import CLMDB
import PosternStore
import PosternCrypto
import PosternSystem

/// Deposit, fetch and delete. Key layouts (all integers big-endian so byte order = numeric order):
///   messages  address (32) ‖ id (8)        → expires (8) ‖ blob
///   counts    address (32)                 → messages at this address (u32)
///   age       id (8)                       → address (32) ‖ expires (8) ‖ blob size (4)
///   expiry    expires (8) ‖ id (8)         → address (32)
extension MailboxStore {
    /// Enqueues a message for `address` in the open batch. Durable, and so acknowledgeable, only after
    /// the next successful `flush()`. No allocation in steady state.
    public func deposit(address: Bytes32, blob: UnsafeRawBufferPointer, ttlSeconds: Int64? = nil) throws(MailboxError) -> Receipt {
        guard blob.count <= config.maxMessageBytes else { throw .messageTooLarge }
        let ttl = min(max(ttlSeconds ?? config.defaultTTLSeconds, 1), config.maxTTLSeconds)
        // A full map surfaces as MDB_MAP_FULL from the put: the batch is aborted (nothing committed is
        // touched) and its unacknowledged deposits are reported by the next flush.
        let txn = try writeTxn()
        do {
            let receipt = try insert(txn, address, blob, expiresAt: clock() + ttl)
            store.pendingWrites += 1
            return receipt
        } catch .addressFull {
            throw .addressFull
        } catch {
            abortBatch(error)
            throw error
        }
    }

    public func deposit(address: Bytes32, blob: [UInt8], ttlSeconds: Int64? = nil) throws(MailboxError) -> Receipt {
        try withBytes(blob) { (b) throws(MailboxError) in try deposit(address: address, blob: b, ttlSeconds: ttlSeconds) }
    }

    private func insert(_ txn: OpaquePointer, _ address: Bytes32, _ blob: UnsafeRawBufferPointer,
                        expiresAt: Int64) throws(MailboxError) -> Receipt {
        let k = scratch  // [0, 40) message key, [40, 56) expiry key, [64, 108) age value, [112, 120) age key
        address.store(to: k)
        // Per-address bound.
        var countKey = val(k, 32), countValue = MDB_val()
        var count: UInt32 = 0
        let found = mdb_get(txn, counts, &countKey, &countValue)
        if found == 0 { count = countValue.mv_data!.loadUnaligned(as: UInt32.self) }
        else if found != MDB_NOTFOUND { try lmdb(found) }
        guard Int(count) < config.maxPerAddress else { throw .addressFull }

        // Global storage cap: evict the oldest until the new message fits (before the map could fill).
        let charge = cost(blob.count)
        while totalBytes + charge > UInt64(config.byteCap), messageCount > 0 {
            try evictOldest(txn)
            address.store(to: k)
        }

        let id = nextID
        storeBE(id, k, 32)
        // message: expires ‖ blob, written in place with MDB_RESERVE (no intermediate copy).
        var key = val(k, 40)
        var value = MDB_val(mv_size: 8 + blob.count, mv_data: nil)
        try lmdb(mdb_put(txn, messages, &key, &value, UInt32(MDB_RESERVE)))
        storeBE(UInt64(bitPattern: expiresAt), value.mv_data!, 0)
        if let base = blob.baseAddress { (value.mv_data! + 8).copyMemory(from: base, byteCount: blob.count) }

        count += 1
        // Every return code is checked: an ignored failure here (a full map) used to surface later as
        // MDB_BAD_TXN, far from its cause.
        let put = withUnsafeBytes(of: &count) { c in
            var cv = val(c.baseAddress!, 4)
            countKey = val(k, 32)
            return mdb_put(txn, counts, &countKey, &cv, 0)
        }
        try lmdb(put)
        storeBE(UInt64(bitPattern: expiresAt), k, 40)
        storeBE(id, k, 48)
        var expiryKey = val(k + 40, 16), expiryValue = val(k, 32)
        try lmdb(mdb_put(txn, byExpiry, &expiryKey, &expiryValue, 0))
        (k + 64).copyMemory(from: k, byteCount: 32)
        storeBE(UInt64(bitPattern: expiresAt), k, 96)
        (k + 104).storeBytes(of: UInt32(blob.count).bigEndian, as: UInt32.self)
        storeBE(id, k, 112)
        var ageKey = val(k + 112, 8), ageValue = val(k + 64, 44)
        try lmdb(mdb_put(txn, byAge, &ageKey, &ageValue, UInt32(MDB_APPEND)))

        nextID += 1
        totalBytes += charge
        messageCount += 1
        return Receipt(id: id, expiresAt: expiresAt)
    }

    /// Up to `limit` unexpired messages at `address`, oldest first. Commits any open batch first, so
    /// what is returned is durable.
    public func fetch(address: Bytes32, limit: Int = 64) throws(MailboxError) -> [StoredMessage] {
        var out: [StoredMessage] = []
        try fetch(addresses: CollectionOfOne(address), limit: limit) { _, m in out.append(m); return true }
        return out
    }

    /// Up to `limit` unexpired messages at each of `addresses`, oldest first, handed to `visit` (which
    /// returns false to stop), in one read transaction. Commits any open batch first.
    public func fetch<S: Sequence>(addresses: S, limit: Int = 64,
                                   _ visit: (Bytes32, StoredMessage) -> Bool) throws(MailboxError) where S.Element == Bytes32 {
        try flush()
        let txn = try readTxn()
        defer { mdb_txn_abort(txn) }
        var cursor: OpaquePointer?
        try lmdb(mdb_cursor_open(txn, messages, &cursor))
        defer { mdb_cursor_close(cursor) }
        let now = clock()
        for address in addresses {
            address.store(to: scratch)
            storeBE(0, scratch, 32)
            var key = val(scratch, 40), value = MDB_val()
            var rc = mdb_cursor_get(cursor, &key, &value, MDB_SET_RANGE)
            var n = 0
            while rc == 0, n < limit, key.mv_size == 40, Bytes32(key.mv_data!) == address {
                let expiresAt = Int64(bitPattern: loadBE(value.mv_data!, 0))
                if expiresAt > now {
                    n += 1
                    let m = StoredMessage(id: loadBE(key.mv_data!, 32), expiresAt: expiresAt,
                                          blob: Array(UnsafeRawBufferPointer(start: value.mv_data! + 8, count: value.mv_size - 8)))
                    guard visit(address, m) else { return }
                }
                rc = mdb_cursor_get(cursor, &key, &value, MDB_NEXT)
            }
            if rc != 0 && rc != MDB_NOTFOUND { try lmdb(rc) }
        }
    }

    /// Deletes one message (the address is part of the capability: an id alone deletes nothing).
    /// Durable at the next flush. Returns false when there is no such message.
    @discardableResult
    public func delete(address: Bytes32, id: UInt64) throws(MailboxError) -> Bool {
        let txn = try writeTxn()
        address.store(to: scratch)
        storeBE(id, scratch, 32)
        var key = val(scratch, 40), value = MDB_val()
        let rc = mdb_get(txn, messages, &key, &value)
        if rc == MDB_NOTFOUND { return false }
        do {
            try lmdb(rc)
            let expiresAt = loadBE(value.mv_data!, 0)
            try remove(txn, address: address, id: id, expiresAt: expiresAt, size: value.mv_size - 8)
        } catch {
            abortBatch(error)
            throw error
        }
        return true
    }

    /// Removes a message and its index entries, and updates the totals.
    func remove(_ txn: OpaquePointer, address: Bytes32, id: UInt64, expiresAt: UInt64, size: Int) throws(MailboxError) {
        let k = scratch + 128   // separate from the insert scratch: eviction runs inside insert
        address.store(to: k)
        storeBE(id, k, 32)
        var key = val(k, 40)
        try lmdb(mdb_del(txn, messages, &key, nil))
        storeBE(expiresAt, k, 40)
        storeBE(id, k, 48)
        var expiryKey = val(k + 40, 16)
        let e = mdb_del(txn, byExpiry, &expiryKey, nil)
        if e != 0 && e != MDB_NOTFOUND { try lmdb(e) }
        var ageKey = val(k + 32, 8)
        let a = mdb_del(txn, byAge, &ageKey, nil)
        if a != 0 && a != MDB_NOTFOUND { try lmdb(a) }
        var countKey = val(k, 32), countValue = MDB_val()
        if mdb_get(txn, counts, &countKey, &countValue) == 0 {
            var c = countValue.mv_data!.loadUnaligned(as: UInt32.self)
            if c <= 1 {
                let d = mdb_del(txn, counts, &countKey, nil)
                if d != 0 && d != MDB_NOTFOUND { try lmdb(d) }
            } else {
                c -= 1
                let put = withUnsafeBytes(of: &c) { cp in
                    var cv = val(cp.baseAddress!, 4)
                    return mdb_put(txn, counts, &countKey, &cv, 0)
                }
                try lmdb(put)
            }
        }
        totalBytes -= min(totalBytes, cost(size))
        messageCount -= min(messageCount, 1)
    }
}
