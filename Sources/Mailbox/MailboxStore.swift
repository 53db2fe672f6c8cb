import CLMDB
import PosternCrypto
import PosternStore
import PosternSystem

/// The mailbox: 32-byte addresses → messages, in LMDB (layout in docs/MAILBOX.md), on a `RecordStore`.
///
/// Deposits join the store's open write batch; `flush()` commits it with one fsync, and only then are
/// their receipts durable (group commit: a burst shares one fsync, which matters on SD cards). There is
/// deliberately no operation that lists or scans addresses: a caller can only name an address it knows.
public final class MailboxStore {
    public var directory: String { store.directory }
    public let config: MailboxConfig
    /// The environment, its lock, the batch and the named records (commits go through `flush`, which adds
    /// the totals).
    let store: RecordStore
    var env: LMDBEnvironment { store.env }
    let clock: () -> Int64

    var messages: MDB_dbi = 0, counts: MDB_dbi = 0, byAge: MDB_dbi = 0, byExpiry: MDB_dbi = 0
    var meta: MDB_dbi = 0

    /// Deposits in the open batch, not yet durable.
    public var pendingDeposits: Int { store.pendingWrites }

    /// Storage the messages take, as `MailboxConfig.storageCost` counts it (held under `config.byteCap`).
    public internal(set) var totalBytes: UInt64 = 0
    public internal(set) var messageCount: UInt64 = 0
    var nextID: UInt64 = 1

    /// Key/value scratch, allocated once.
    let scratch = UnsafeMutableRawPointer.allocate(byteCount: 256, alignment: 16)

    /// 2: the "bytes" total counts `storageCost`, not blob bytes (a version-1 store is recounted on open).
    static let formatVersion: UInt64 = 2

    /// LMDB's page size, for `cost`.
    let pageSize: Int

    /// Opens (creating if needed) the store in `directory`. `clock` returns wall-clock seconds; tests
    /// inject their own.
    public init(directory: String, config: MailboxConfig = MailboxConfig(),
                clock: @escaping () -> Int64 = { Clock.wallSeconds() }) throws(MailboxError) {
        self.config = config
        self.clock = clock
        do { store = try RecordStore(directory: directory, mapSize: config.mapSize) } catch { throw .store(error) }
        pageSize = store.env.pageSize()
        // Every stored property is set now: if this throws, deinit releases the store.
        try openDatabases()
    }

    deinit { scratch.deallocate() }

    private func openDatabases() throws(MailboxError) {
        do {
            try store.inTransaction { (txn) throws(StoreError) in
                messages = try env.open(txn, name: "messages", create: true)
                counts = try env.open(txn, name: "counts", create: true)
                byAge = try env.open(txn, name: "age", create: true)
                byExpiry = try env.open(txn, name: "expiry", create: true)
                meta = try env.open(txn, name: "meta", create: true)
                let format = try metaValue(txn, "format")
                guard format == nil || format == 1 || format == Self.formatVersion else {
                    throw StoreError.corrupt(path: directory, detail: "format version \(format!)")
                }
                nextID = try metaValue(txn, "next-id") ?? 1
                totalBytes = try metaValue(txn, "bytes") ?? 0
                messageCount = try metaValue(txn, "count") ?? 0
                if format == 1 {
                    totalBytes = try recount(txn)
                    try setMeta(txn, "bytes", totalBytes)
                }
                if format != Self.formatVersion { try setMeta(txn, "format", Self.formatVersion) }
            }
        } catch { throw .store(error) }
    }

    /// The storage of every message, summed from the age index (which holds each blob's size).
    private func recount(_ txn: OpaquePointer) throws(StoreError) -> UInt64 {
        var cursor: OpaquePointer?
        try LMDBEnvironment.check(mdb_cursor_open(txn, byAge, &cursor))
        defer { mdb_cursor_close(cursor) }
        var total: UInt64 = 0
        var key = MDB_val(), value = MDB_val()
        var rc = mdb_cursor_get(cursor, &key, &value, MDB_FIRST)
        while rc == 0 {
            guard value.mv_size == 44 else { throw .corrupt(path: directory, detail: "age index entry of \(value.mv_size) bytes") }
            total += cost(Int(UInt32(bigEndian: value.mv_data!.loadUnaligned(fromByteOffset: 40, as: UInt32.self))))
            rc = mdb_cursor_get(cursor, &key, &value, MDB_NEXT)
        }
        if rc != MDB_NOTFOUND { try LMDBEnvironment.check(rc) }
        return total
    }

    /// What a message of `blobBytes` counts against `config.byteCap`.
    @inline(__always)
    func cost(_ blobBytes: Int) -> UInt64 { MailboxConfig.storageCost(blobBytes: blobBytes, pageSize: pageSize) }

    /// Totals in memory may include aborted work: reload them from disk.
    func reloadTotals() {
        guard let txn = try? env.begin(readOnly: true) else { return }
        nextID = (try? metaValue(txn, "next-id")).flatMap { $0 } ?? nextID
        totalBytes = (try? metaValue(txn, "bytes")).flatMap { $0 } ?? 0
        messageCount = (try? metaValue(txn, "count")).flatMap { $0 } ?? 0
        mdb_txn_abort(txn)
    }

    // MARK: Batches

    /// The open write transaction, beginning one if needed.
    func writeTxn() throws(MailboxError) -> OpaquePointer {
        do { return try store.writeTxn() } catch { throw .store(error) }
    }

    func readTxn() throws(MailboxError) -> OpaquePointer {
        do { return try env.begin(readOnly: true) } catch { throw .store(error) }
    }

    /// Aborts the open batch after an error that leaves the transaction unusable.
    func abortBatch(_ error: MailboxError) {
        guard store.batch != nil else { return }
        if case .store(let cause) = error { store.abortBatch(cause) } else { store.abortBatch(.lmdb(code: 0, detail: error.description)) }
        reloadTotals()
    }

    /// Makes everything enqueued so far durable (one commit, one fsync). Throws if the batch, or an
    /// earlier batch since the last flush, could not be stored: those deposits were not acknowledged.
    public func flush() throws(MailboxError) {
        do {
            try store.flush { (txn) throws(StoreError) in
                try setMeta(txn, "next-id", nextID)
                try setMeta(txn, "bytes", totalBytes)
                try setMeta(txn, "count", messageCount)
            }
        } catch {
            reloadTotals()
            throw .store(error)
        }
    }

    // MARK: Meta

    func metaValue(_ txn: OpaquePointer, _ name: StaticString) throws(StoreError) -> UInt64? {
        var key = val(name.utf8Start, name.utf8CodeUnitCount)
        var value = MDB_val()
        let rc = mdb_get(txn, meta, &key, &value)
        if rc == MDB_NOTFOUND { return nil }
        try LMDBEnvironment.check(rc)
        guard value.mv_size == 8 else { throw .corrupt(path: directory, detail: "meta \(name)") }
        return loadBE(value.mv_data!, 0)
    }

    func setMeta(_ txn: OpaquePointer, _ name: StaticString, _ v: UInt64) throws(StoreError) {
        storeBE(v, scratch, 200)
        var key = val(name.utf8Start, name.utf8CodeUnitCount)
        var value = val(scratch + 200, 8)
        try LMDBEnvironment.check(mdb_put(txn, meta, &key, &value, 0))
    }

    /// Commits (fsyncs) so far.
    public var commits: Int { store.commits }

    /// Bytes of the map in use (for metrics and the map-full check).
    public var usedBytes: Int { store.usedBytes }
}

/// An LMDB return code as a mailbox error.
@inline(__always)
func lmdb(_ rc: Int32) throws(MailboxError) {
    guard rc != 0 else { return }
    throw .store(LMDBEnvironment.error(rc))
}
