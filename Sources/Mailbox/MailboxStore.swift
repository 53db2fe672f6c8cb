import CLMDB
import PosternCrypto
import PosternSystem
import CSystem

/// The mailbox: 32-byte addresses → messages, in LMDB (layout in docs/MAILBOX.md).
///
/// Deposits join an open write transaction; `flush()` commits it with one fsync, and only then are
/// their receipts durable (group commit: a burst shares one fsync, which matters on SD cards). There is
/// deliberately no operation that lists or scans addresses: a caller can only name an address it knows.
public final class MailboxStore {
    public let directory: String
    public let config: MailboxConfig
    let env: LMDBEnvironment
    let clock: () -> Int64
    private let lockFD: Int32

    var messages: MDB_dbi = 0, counts: MDB_dbi = 0, byAge: MDB_dbi = 0, byExpiry: MDB_dbi = 0
    var meta: MDB_dbi = 0, state: MDB_dbi = 0
    var replayDBs: [UInt32: MDB_dbi] = [:]

    /// The open batch, if any, and what has been enqueued in it.
    var batch: OpaquePointer?
    public internal(set) var pendingDeposits = 0
    /// Set when a batch had to be aborted: its deposits were never acknowledged, and the next `flush`
    /// reports it.
    var lostBatch: MailboxError?

    public internal(set) var totalBytes: UInt64 = 0
    public internal(set) var messageCount: UInt64 = 0
    var nextID: UInt64 = 1

    /// Key/value scratch, allocated once.
    let scratch = UnsafeMutableRawPointer.allocate(byteCount: 256, alignment: 16)

    static let formatVersion: UInt64 = 1

    /// Opens (creating if needed) the store in `directory`. `clock` returns wall-clock seconds; tests
    /// inject their own.
    public init(directory: String, config: MailboxConfig = MailboxConfig(),
                clock: @escaping () -> Int64 = { Clock.wallSeconds() }) throws(MailboxError) {
        self.directory = directory
        self.config = config
        self.clock = clock
        if !Files.isDirectory(directory) {
            do { try Files.makeDirectory(directory, mode: 0o700) } catch { throw .directory(path: directory, error) }
        }
        let access = directory.withCString { psys_access_rw($0) }
        if access < 0 { throw .directory(path: directory, SystemError(access, "access")) }
        let lock = (directory + "/postern.lock").withCString { psys_lock_file($0) }
        if lock == -11 { throw .inUse(path: directory) }  // EWOULDBLOCK
        if lock < 0 { throw .directory(path: directory, SystemError(lock, "lock")) }
        lockFD = lock
        do {
            env = try LMDBEnvironment(path: directory, mapSize: config.mapSize, maxDatabases: 32)
        } catch {
            _ = psys_close(lock)
            if case .corrupt(_, let detail) = error { throw .corrupt(path: directory, detail: detail) }
            throw error
        }
        // Every stored property is set now: if this throws, deinit releases the lock and the environment.
        try openDatabases()
    }

    deinit {
        if let batch { mdb_txn_abort(batch) }
        scratch.deallocate()
        _ = psys_close(lockFD)
    }

    private func openDatabases() throws(MailboxError) {
        let txn = try env.begin(readOnly: false)
        do throws(MailboxError) {
            messages = try env.open(txn, name: "messages", create: true)
            counts = try env.open(txn, name: "counts", create: true)
            byAge = try env.open(txn, name: "age", create: true)
            byExpiry = try env.open(txn, name: "expiry", create: true)
            meta = try env.open(txn, name: "meta", create: true)
            state = try env.open(txn, name: "state", create: true)
            if let format = try metaValue(txn, "format") {
                guard format == Self.formatVersion else {
                    throw MailboxError.corrupt(path: directory, detail: "format version \(format)")
                }
            } else {
                try setMeta(txn, "format", Self.formatVersion)
            }
            nextID = try metaValue(txn, "next-id") ?? 1
            totalBytes = try metaValue(txn, "bytes") ?? 0
            messageCount = try metaValue(txn, "count") ?? 0
            try LMDBEnvironment.check(mdb_txn_commit(txn))
        } catch {
            mdb_txn_abort(txn)
            throw error
        }
    }

    // MARK: Batches

    /// The open write transaction, beginning one if needed.
    func writeTxn() throws(MailboxError) -> OpaquePointer {
        if let batch { return batch }
        let txn = try env.begin(readOnly: false)
        batch = txn
        return txn
    }

    /// Aborts the open batch after an error that leaves the transaction unusable.
    func abortBatch(_ error: MailboxError) {
        if let batch {
            mdb_txn_abort(batch)
            self.batch = nil
            if pendingDeposits > 0 { lostBatch = error }
            pendingDeposits = 0
            // Totals in memory may include aborted work: reload them from disk.
            if let txn = try? env.begin(readOnly: true) {
                nextID = (try? metaValue(txn, "next-id")) .flatMap { $0 } ?? nextID
                totalBytes = (try? metaValue(txn, "bytes")).flatMap { $0 } ?? 0
                messageCount = (try? metaValue(txn, "count")).flatMap { $0 } ?? 0
                mdb_txn_abort(txn)
            }
        }
    }

    /// Makes everything enqueued so far durable (one commit, one fsync). Throws if the batch, or an
    /// earlier batch since the last flush, could not be stored: those deposits were not acknowledged.
    public func flush() throws(MailboxError) {
        if let lost = lostBatch {
            lostBatch = nil
            throw lost
        }
        guard let txn = batch else { return }
        do {
            try setMeta(txn, "next-id", nextID)
            try setMeta(txn, "bytes", totalBytes)
            try setMeta(txn, "count", messageCount)
        } catch {
            abortBatch(error)
            lostBatch = nil
            throw error
        }
        batch = nil
        let rc = mdb_txn_commit(txn)   // commit frees the transaction even when it fails
        pendingDeposits = 0
        if rc != 0 {
            let error = LMDBEnvironment.error(rc)
            batch = nil
            abortBatch(error)
            throw error
        }
    }

    // MARK: Meta and node state

    func metaValue(_ txn: OpaquePointer, _ name: StaticString) throws(MailboxError) -> UInt64? {
        var key = val(name.utf8Start, name.utf8CodeUnitCount)
        var value = MDB_val()
        let rc = mdb_get(txn, meta, &key, &value)
        if rc == MDB_NOTFOUND { return nil }
        try LMDBEnvironment.check(rc)
        guard value.mv_size == 8 else { throw .corrupt(path: directory, detail: "meta \(name)") }
        return loadBE(value.mv_data!, 0)
    }

    func setMeta(_ txn: OpaquePointer, _ name: StaticString, _ v: UInt64) throws(MailboxError) {
        storeBE(v, scratch, 200)
        var key = val(name.utf8Start, name.utf8CodeUnitCount)
        var value = val(scratch + 200, 8)
        try LMDBEnvironment.check(mdb_put(txn, meta, &key, &value, 0))
    }

    /// Stores a small named value for the node (keys, epoch, counters); durable at the next flush.
    public func setState(_ name: String, _ bytes: [UInt8]) throws(MailboxError) {
        let txn = try writeTxn()
        let rc = name.withCString { n in bytes.withUnsafeBytes { b in
            var key = val(n, name.utf8.count)
            var value = val(b.baseAddress ?? UnsafeRawPointer(scratch), b.count)
            return mdb_put(txn, state, &key, &value, 0)
        } }
        if rc != 0 { abortBatch(LMDBEnvironment.error(rc)); throw LMDBEnvironment.error(rc) }
    }

    /// Deletes a named value; durable at the next flush. False if there was none.
    @discardableResult
    public func removeState(_ name: String) throws(MailboxError) -> Bool {
        let txn = try writeTxn()
        let rc = name.withCString { n in
            var key = val(n, name.utf8.count)
            return mdb_del(txn, state, &key, nil)
        }
        if rc == MDB_NOTFOUND { return false }
        if rc != 0 { abortBatch(LMDBEnvironment.error(rc)); throw LMDBEnvironment.error(rc) }
        return true
    }

    public func state(_ name: String) throws(MailboxError) -> [UInt8]? {
        try flush()
        let txn = try env.begin(readOnly: true)
        defer { mdb_txn_abort(txn) }
        var value = MDB_val()
        let rc = name.withCString { n in
            var key = val(n, name.utf8.count)
            return mdb_get(txn, state, &key, &value)
        }
        if rc == MDB_NOTFOUND { return nil }
        try LMDBEnvironment.check(rc)
        return Array(UnsafeRawBufferPointer(start: value.mv_data, count: value.mv_size))
    }

    /// Bytes of the map in use (for metrics and the map-full check).
    public var usedBytes: Int { env.usedBytes() }
}
