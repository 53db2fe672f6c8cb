import CLMDB
import CSystem
import PosternSystem

/// One LMDB environment in a directory, held by one process: the lock file, the environment, the open
/// write batch and its group commit, named records, and the size in use. The mailbox and the profile are
/// both built on it (each adds its own databases in `env`).
///
/// Writes join an open write transaction (the batch); `flush()` commits it with one fsync, and only
/// then is anything written durable. A batch that had to be aborted is reported by the next `flush`.
public final class RecordStore {
    public let directory: String
    package let env: LMDBEnvironment
    private let lock: FileDescriptor
    /// Named records ("state" database): small values a store's owner keeps (profile records).
    package private(set) var records: MDB_dbi = 0

    /// The open batch, if any.
    package private(set) var batch: OpaquePointer?
    /// Writes in the open batch that somebody waits on (deposits); a lost batch with any is reported.
    package var pendingWrites = 0
    var lostBatch: StoreError?
    /// Commits so far (each one an fsync: what an SD card feels).
    public private(set) var commits = 0

    /// Opens (creating if needed) the environment in `directory`, taking its lock file; `.inUse` when
    /// another process holds it for longer than `lockWaitSeconds`.
    public init(directory: String, mapSize: Int, maxDatabases: UInt32 = 32, lockWaitSeconds: Double = 1) throws(StoreError) {
        self.directory = directory
        if !Files.isDirectory(directory) {
            do { try Files.makeDirectory(directory, mode: 0o700) } catch { throw .directory(path: directory, error) }
        }
        let access = directory.withCString { psys_access_rw($0) }
        if access < 0 { throw .directory(path: directory, SystemError(access, "access")) }
        // A lock held for a moment is waited for: a process that has just
        // closed its store may still hold it through a child it is spawning at that instant (the child
        // shares the lock until its exec closes it), or a restarted node's predecessor may still be exiting.
        var fd = (directory + "/postern.lock").withCString { psys_lock_file($0) }
        let deadline = Clock.monotonicNanoseconds() &+ UInt64(max(0, lockWaitSeconds) * 1e9)
        while fd == -11 && Clock.monotonicNanoseconds() < deadline {   // EWOULDBLOCK
            Clock.sleep(nanoseconds: 20_000_000)
            fd = (directory + "/postern.lock").withCString { psys_lock_file($0) }
        }
        if fd == -11 { throw .inUse(path: directory) }
        if fd < 0 { throw .directory(path: directory, SystemError(fd, "lock")) }
        lock = FileDescriptor(fd)
        do {
            env = try LMDBEnvironment(path: directory, mapSize: mapSize, maxDatabases: maxDatabases)
        } catch {
            lock.close()
            if case .corrupt(_, let detail) = error { throw .corrupt(path: directory, detail: detail) }
            throw error
        }
        // Every stored property is set now: if this throws, deinit releases the lock and the environment.
        try inTransaction { (txn) throws(StoreError) in records = try env.open(txn, name: "state", create: true) }
    }

    deinit {
        if let batch { mdb_txn_abort(batch) }
        lock.close()
    }

    /// Runs `body` in a write transaction of its own and commits it (outside any batch; for setup).
    package func inTransaction(_ body: (OpaquePointer) throws(StoreError) -> Void) throws(StoreError) {
        let txn = try env.begin(readOnly: false)
        do throws(StoreError) {
            try body(txn)
            try LMDBEnvironment.check(mdb_txn_commit(txn))
        } catch {
            mdb_txn_abort(txn)
            throw error
        }
    }

    // MARK: The batch

    /// The open write transaction, beginning one if needed.
    package func writeTxn() throws(StoreError) -> OpaquePointer {
        if let batch { return batch }
        let txn = try env.begin(readOnly: false)
        batch = txn
        return txn
    }

    /// Aborts the open batch after an error that leaves the transaction unusable.
    package func abortBatch(_ error: StoreError) {
        guard let batch else { return }
        mdb_txn_abort(batch)
        self.batch = nil
        if pendingWrites > 0 { lostBatch = error }
        pendingWrites = 0
    }

    /// Makes everything written so far durable (one commit, one fsync). Throws if the batch, or an earlier
    /// batch since the last flush, could not be stored. `beforeCommit` runs inside the batch just before it
    /// commits (the mailbox writes its totals there).
    public func flush(beforeCommit: (OpaquePointer) throws(StoreError) -> Void = { _ in }) throws(StoreError) {
        if let lost = lostBatch {
            lostBatch = nil
            throw lost
        }
        guard let txn = batch else { return }
        do { try beforeCommit(txn) } catch {
            abortBatch(error)
            lostBatch = nil
            throw error
        }
        batch = nil
        let rc = mdb_txn_commit(txn)   // commit frees the transaction even when it fails
        pendingWrites = 0
        if rc != 0 { throw LMDBEnvironment.error(rc) }
        commits += 1
    }

    // MARK: Named records

    /// Stores a small named value; durable at the next flush.
    public func set(_ name: String, _ bytes: [UInt8]) throws(StoreError) {
        let txn = try writeTxn()
        let rc = name.withCString { n in bytes.withUnsafeBytes { b in
            var key = val(n, name.utf8.count)
            var value = val(b.baseAddress ?? UnsafeRawPointer(n), b.count)
            return mdb_put(txn, records, &key, &value, 0)
        } }
        if rc != 0 { abortBatch(LMDBEnvironment.error(rc)); throw LMDBEnvironment.error(rc) }
    }

    /// Deletes a named value; durable at the next flush. False if there was none.
    @discardableResult
    public func remove(_ name: String) throws(StoreError) -> Bool {
        let txn = try writeTxn()
        let rc = name.withCString { n in
            var key = val(n, name.utf8.count)
            return mdb_del(txn, records, &key, nil)
        }
        if rc == MDB_NOTFOUND { return false }
        if rc != 0 { abortBatch(LMDBEnvironment.error(rc)); throw LMDBEnvironment.error(rc) }
        return true
    }

    /// A named value (committing any open batch first), or nil.
    public func get(_ name: String) throws(StoreError) -> [UInt8]? {
        try flush()
        let txn = try env.begin(readOnly: true)
        defer { mdb_txn_abort(txn) }
        var value = MDB_val()
        let rc = name.withCString { n in
            var key = val(n, name.utf8.count)
            return mdb_get(txn, records, &key, &value)
        }
        if rc == MDB_NOTFOUND { return nil }
        try LMDBEnvironment.check(rc)
        return Array(UnsafeRawBufferPointer(start: value.mv_data, count: value.mv_size))
    }

    /// How many named records there are (committing any open batch first).
    public func recordCount() throws(StoreError) -> Int {
        try flush()
        let txn = try env.begin(readOnly: true)
        defer { mdb_txn_abort(txn) }
        var stat = MDB_stat()
        try LMDBEnvironment.check(mdb_stat(txn, records, &stat))
        return Int(stat.ms_entries)
    }

    /// Bytes of the map in use.
    public var usedBytes: Int { env.usedBytes() }
}
