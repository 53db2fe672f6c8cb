/// Limits and policies of a mailbox store (docs/MAILBOX.md explains each choice).
public struct MailboxConfig: Equatable, Sendable {
    /// LMDB map size: the most the store's files can grow to.
    public var mapSize: Int = 256 << 20
    /// Global cap on stored message bytes; beyond it the oldest messages are evicted. Keep it well below
    /// `mapSize` (indexes and free pages need room): by default 3/4 of it.
    public var byteCap: Int = 192 << 20
    public var maxMessageBytes: Int = 8 << 10
    /// Messages one address may hold; further deposits to it are refused (first come, first kept).
    public var maxPerAddress: Int = 64
    /// Retention when a deposit names no TTL.
    public var defaultTTLSeconds: Int64 = 7 * 86_400
    /// Longest TTL a depositor may ask for.
    public var maxTTLSeconds: Int64 = 30 * 86_400
    /// Most expired messages removed per `expire` call, so expiry never stalls the event loop.
    public var expiryWorkPerTick: Int = 256

    public init() {}
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

