/// Limits and policies of a mailbox store (docs/MAILBOX.md explains each choice).
public struct MailboxConfig: Equatable, Sendable {
    /// Cap on the storage the messages take, counted as `storageCost` (what LMDB really spends on a
    /// message: its pages and its index entries, not just its bytes); beyond it the oldest messages are
    /// evicted, so a full mailbox never refuses a deposit.
    public var byteCap: Int = 192 << 20
    /// LMDB map size: the most the store's files can grow to. Unless set, derived from `byteCap`
    /// (`mapSize(forByteCap:)`), with room for free pages and an open batch.
    public var mapSize: Int {
        get { mapSizeOverride ?? Self.mapSize(forByteCap: byteCap) }
        set { mapSizeOverride = newValue }
    }
    var mapSizeOverride: Int?
    public var maxMessageBytes: Int = 8 << 10
    /// Messages one address may hold; further deposits to it are refused (first come, first kept).
    public var maxPerAddress: Int = 64
    /// Retention when a deposit names no TTL.
    public var defaultTTLSeconds: Int64 = 7 * 86_400
    /// Longest TTL a depositor may ask for.
    public var maxTTLSeconds: Int64 = 30 * 86_400
    /// Most expired messages removed per `expire` call, so expiry never stalls the event loop.
    public var expiryWorkPerTick: Int = 256
    /// Deposits one batch may hold before it is committed whatever the group-commit window says: bounds
    /// the pages a batch holds beyond the cap (LMDB reuses pages freed in a batch only after its commit).
    public var maxBatchDeposits: Int = 512

    public init() {}

    /// `byteCap` + 1/4 + 16 MiB: room for the free pages of the previous commits and for one batch of
    /// `maxBatchDeposits` of the largest messages (12.5 KiB each, 6.3 MiB). 192 MiB → 256 MiB.
    public static func mapSize(forByteCap cap: Int) -> Int { cap + cap / 4 + (16 << 20) }

    /// What one stored message of `blobBytes` costs in an LMDB with pages of `pageSize` bytes, rounded
    /// up: measured on 4 KiB pages (20 000 messages at random addresses, fresh store) 445 B for 16-byte
    /// blobs, 1 115 for 400, 2 463 for 1 000, 3 187 for 1 900, 4 503 for 2 065 (one overflow page),
    /// 12 704 for 8 192; this charges 532, 1 300, 2 500, 4 300, 4 596, 12 788 (docs/MAILBOX.md).
    ///
    /// A message record is a B-tree node of 8 (header) + 40 (key) + 8 + blob bytes. Inline (at most half a
    /// page less the page header), charged at twice its size: pages of a B-tree filled at random are
    /// half full in the worst steady state. Larger, its value goes to whole overflow pages (16-byte page
    /// header) and a 56-byte node stays in the leaf. Each message also has an age and an expiry entry and
    /// may have a count entry (60 B each, charged twice), plus the branch pages above: 384 B in all.
    public static func storageCost(blobBytes: Int, pageSize: Int = 4096) -> UInt64 {
        let value = 8 + blobBytes
        let node = 8 + 40 + value
        let nodeMax = ((pageSize - 16) / 2) & ~1
        if node <= nodeMax { return UInt64(2 * (node + 2) + 384) }
        let pages = (16 + value + pageSize - 1) / pageSize
        return UInt64(pages * pageSize + 2 * (56 + 2) + 384)
    }
}

/// Proof that a deposit was stored: its id (needed, with the address, to delete it) and expiry.
public struct Receipt: Equatable, Sendable {
    public let id: UInt64
    public let expiresAt: Int64
}

/// A message as fetched.
public struct StoredMessage: Equatable {
    public let id: UInt64
    public let expiresAt: Int64
    public let blob: [UInt8]
}
