import CLMDB
import PosternCrypto
import PosternLocalNetwork
import PosternMailbox
import PosternSystem

/// Suite `mailbox`, in a scratch directory under $TMPDIR (or /tmp) on the disk being measured.
/// `deposit` is held to `lmdb-put`, a bare LMDB put + commit with the same durability (a synchronous
/// commit per message): goal ratio ≤ 2.0 and 0 allocations per deposit.
func mailboxSuite() -> Suite {
    Suite(name: "mailbox") {
        let base = (Process.environment("TMPDIR") ?? "/tmp") + "/postern-bench-\(Process.id)"
        let rawDir = base + "-raw", storeDir = base + "-store", expiryDir = base + "-expiry"
        for dir in [rawDir, storeDir, expiryDir] { scratchCleanup(dir) }
        try? Files.makeDirectory(rawDir)
        benchCleanups.append { for dir in [rawDir, storeDir, expiryDir] { scratchCleanup(dir) } }
        let blob = UnsafeRawBufferPointer(start: bufferOf(256, fill: 5), count: 256)
        let key = bufferOf(40), value = bufferOf(8 + 256, fill: 5)

        // The raw LMDB loop: one named database, default (fully synchronous) commits.
        var env: OpaquePointer?
        var dbi: MDB_dbi = 0
        mdb_env_create(&env)
        mdb_env_set_mapsize(env, 1 << 30)
        mdb_env_set_maxdbs(env, 4)
        _ = rawDir.withCString { mdb_env_open(env, $0, UInt32(MDB_NOTLS), 0o600) }
        var txn: OpaquePointer?
        mdb_txn_begin(env, nil, 0, &txn)
        _ = "raw".withCString { mdb_dbi_open(txn, $0, UInt32(MDB_CREATE), &dbi) }
        mdb_txn_commit(txn)
        var rawCounter: UInt64 = 0

        var config = MailboxConfig()
        config.mapSize = 1 << 30
        config.byteCap = 768 << 20
        var now: Int64 = 1_000_000
        let store = try! MailboxStore(directory: storeDir, config: config)
        let expiring = try! MailboxStore(directory: expiryDir, config: config, clock: { now })
        var addressCounter: UInt64 = 0
        func nextAddress() -> Bytes32 {
            addressCounter &+= 1
            return Bytes32(words: (addressCounter, 0x9e37_79b9_7f4a_7c15 &* addressCounter, 1, 2))
        }
        let known = nextAddress()
        _ = try! store.deposit(address: known, blob: blob)
        try! store.flush()

        var expire = BenchLine.timed("expire") { n in
            var left = n
            while left > 0 { left -= max(1, (try? expiring.expire(maxWork: min(left, 256))) ?? left) }
            try? expiring.flush()
        }
        expire.prepare = { n in
            for _ in 0..<n { _ = try? expiring.deposit(address: nextAddress(), blob: blob, ttlSeconds: 1) }
            try? expiring.flush()
            now += 2
        }

        /// Bytes this process has written to storage so far (/proc/self/io write_bytes; 0 if unavailable).
        func writtenBytes() -> Int {
            guard let io = try? Files.read("/proc/self/io") else { return 0 }
            for line in String(decoding: io, as: UTF8.self).split(separator: "\n") where line.hasPrefix("write_bytes:") {
                return Int(line.split(separator: " ").last ?? "0") ?? 0
            }
            return 0
        }

        return [
            // SD-card wear: storage writes per hour for a gateway storing 10 messages per second (each
            // arrives alone, so each commits alone: the worst case for group commit), 1 KiB each.
            .value("sd-writes-per-hour-10pps") {
                let kib = UnsafeRawBufferPointer(start: bufferOf(1024, fill: 9), count: 1024)
                let before = writtenBytes()
                for _ in 0..<600 {
                    _ = try? store.deposit(address: nextAddress(), blob: kib)
                    try? store.flush()
                }
                let perDeposit = Double(writtenBytes() - before) / 600
                return (perDeposit * 36_000 / 1_048_576, "MiB")
            },
            // An idle gateway (in a network of three mixes and one gateway, nothing sent): storage writes
            // per day. Goal: near zero (it used to commit its mailbox once a second for expiry).
            .value("sd-writes-per-day-idle") {
                let dir = base + "-idle"
                defer { try? Files.removeTree(dir) }
                guard let net = try? LocalNetwork(layers: 3, gateways: 1, dataDirectory: dir), (try? net.start()) != nil else {
                    return (0, "MiB (network did not start)")
                }
                defer { net.stop() }
                net.loop.run(until: EventLoop.now() &+ 1_000_000_000)   // start-up writes (keys, view) settle
                let before = writtenBytes()
                net.loop.run(until: EventLoop.now() &+ 4_000_000_000)
                return (Double(writtenBytes() - before) * 86_400 / 4 / 1_048_576, "MiB")
            },
            // The same load with a 1 s group-commit window (`group_commit_ms = 1000`): 10 deposits per commit.
            .value("sd-writes-per-hour-10pps-1s-window") {
                let kib = UnsafeRawBufferPointer(start: bufferOf(1024, fill: 9), count: 1024)
                let before = writtenBytes()
                for i in 0..<600 {
                    _ = try? store.deposit(address: nextAddress(), blob: kib)
                    if i % 10 == 9 { try? store.flush() }
                }
                let perDeposit = Double(writtenBytes() - before) / 600
                return (perDeposit * 36_000 / 1_048_576, "MiB")
            },
            .timed("lmdb-put") { n in
                for _ in 0..<n {
                    rawCounter &+= 1
                    key.storeBytes(of: rawCounter, toByteOffset: 32, as: UInt64.self)
                    var k = MDB_val(mv_size: 40, mv_data: key), v = MDB_val(mv_size: 264, mv_data: value)
                    var t: OpaquePointer?
                    mdb_txn_begin(env, nil, 0, &t)
                    mdb_put(t, dbi, &k, &v, 0)
                    mdb_txn_commit(t)
                }
            },
            .timed("deposit", baseline: "lmdb-put") { n in
                for _ in 0..<n {
                    _ = try? store.deposit(address: nextAddress(), blob: blob)
                    try? store.flush()
                }
            },
            // Group commit: 32 deposits share one commit (the node's burst case).
            .timed("deposit-group32", baseline: "lmdb-put") { n in
                var i = 0
                while i < n {
                    let group = min(32, n - i)
                    for _ in 0..<group { _ = try? store.deposit(address: nextAddress(), blob: blob) }
                    try? store.flush()
                    i += group
                }
            },
            .timed("fetch") { n in
                for _ in 0..<n { _ = try? store.fetch(address: known) }
            },
            expire,
        ]
    }
}

/// Removes a scratch LMDB directory left by an earlier run (its three known files, then the directory).
func scratchCleanup(_ dir: String) {
    for file in ["data.mdb", "lock.mdb", "postern.lock"] { try? Files.remove(dir + "/" + file) }
    try? Files.removeDirectory(dir)
}
