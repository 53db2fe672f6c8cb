/// Secret bytes that cannot be copied and are wiped when they go out of scope.
///
/// The bytes live in their own heap block rather than inline: a `~Copyable` struct's `deinit` sees `self`
/// as immutable, and inline storage may have been moved (leaving stale copies) anyway, so the only storage
/// a deinit can reliably wipe is memory it reaches through a pointer. One allocation per key is fine for
/// long-lived keys; per-packet secrets on the hot path live in preallocated workspaces instead, which are
/// wiped after every packet.
public struct SecretKey: ~Copyable {
    @usableFromInline let base: UnsafeMutableRawPointer
    /// Length in bytes.
    public let count: Int

    private init(uninitialisedCount count: Int) {
        self.count = count
        base = .allocate(byteCount: max(count, 1), alignment: 16)
    }

    /// A key of `count` fresh random bytes.
    public init(randomBytes count: Int) {
        self.init(uninitialisedCount: count)
        Random.fill(base, count: count)
    }

    /// A zero-filled key of `count` bytes, to be filled in place with `withUnsafeMutableBytes`.
    public init(zeroed count: Int) {
        self.init(uninitialisedCount: count)
        base.initializeMemory(as: UInt8.self, repeating: 0, count: max(count, 1))
    }

    /// A key holding a copy of `bytes`. The caller remains responsible for wiping its own copy.
    public init(copying bytes: UnsafeRawBufferPointer) {
        self.init(uninitialisedCount: bytes.count)
        if let source = bytes.baseAddress { base.copyMemory(from: source, byteCount: bytes.count) }
    }

    public init(copying bytes: [UInt8]) {
        self.init(uninitialisedCount: bytes.count)
        bytes.withUnsafeBytes { if let source = $0.baseAddress { base.copyMemory(from: source, byteCount: count) } }
    }

    deinit {
        Memory.wipe(base, count: max(count, 1))
        base.deallocate()
    }

    @inlinable
    public func withUnsafeBytes<R: ~Copyable, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try body(UnsafeRawBufferPointer(start: base, count: count))
    }

    /// Mutating access: only through a `var` key, so in-place updates are visible at the call site.
    @inlinable
    public mutating func withUnsafeMutableBytes<R: ~Copyable, E: Error>(
        _ body: (UnsafeMutableRawBufferPointer) throws(E) -> R
    ) throws(E) -> R {
        try body(UnsafeMutableRawBufferPointer(start: base, count: count))
    }

    /// The key's address, for passing to C; valid while the key is alive.
    @inlinable
    public var pointer: UnsafeRawPointer { UnsafeRawPointer(base) }

    /// Replaces the key's bytes in place (same length), e.g. one step of a KDF chain: no allocation.
    @inlinable
    public mutating func overwrite(with bytes: UnsafeRawPointer) {
        base.copyMemory(from: bytes, byteCount: count)
    }

    /// Exports the bytes; for persisting keys to protected files only.
    public func exportBytes() -> [UInt8] {
        withUnsafeBytes { Array($0) }
    }

    /// An independent copy (explicit, so duplicating a secret is always visible in the code).
    public func duplicate() -> SecretKey {
        withUnsafeBytes { SecretKey(copying: $0) }
    }

    /// Constant-time equality with another key.
    public func matches(_ other: borrowing SecretKey) -> Bool {
        count == other.count && (count == 0 || Memory.equal(base, other.base, count: count))
    }
}
