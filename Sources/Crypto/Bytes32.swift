/// A 32-byte value held inline (four words): node ids, mailbox addresses, public keys. Hashable and
/// copyable without allocation, so it can key dictionaries on hot paths.
public struct Bytes32: Hashable, Sendable {
    public var words: (UInt64, UInt64, UInt64, UInt64)

    public static let zero = Bytes32(words: (0, 0, 0, 0))

    public init(words: (UInt64, UInt64, UInt64, UInt64)) { self.words = words }

    /// Reads 32 bytes at `pointer`.
    @inlinable
    public init(_ pointer: UnsafeRawPointer) {
        words = (pointer.loadUnaligned(fromByteOffset: 0, as: UInt64.self),
                 pointer.loadUnaligned(fromByteOffset: 8, as: UInt64.self),
                 pointer.loadUnaligned(fromByteOffset: 16, as: UInt64.self),
                 pointer.loadUnaligned(fromByteOffset: 24, as: UInt64.self))
    }

    public init?(_ bytes: [UInt8]) {
        guard bytes.count == 32 else { return nil }
        self = bytes.withUnsafeBytes { Bytes32($0.baseAddress!) }
    }

    public init?(hex: String) {
        guard let bytes = Hex.decode(hex), let value = Bytes32(bytes) else { return nil }
        self = value
    }

    public static func random() -> Bytes32 {
        var value = Bytes32.zero
        withUnsafeMutableBytes(of: &value.words) { Random.fill($0.baseAddress!, count: 32) }
        return value
    }

    /// Writes the 32 bytes at `pointer`.
    @inlinable
    public func store(to pointer: UnsafeMutableRawPointer) {
        pointer.storeBytes(of: words.0, toByteOffset: 0, as: UInt64.self)
        pointer.storeBytes(of: words.1, toByteOffset: 8, as: UInt64.self)
        pointer.storeBytes(of: words.2, toByteOffset: 16, as: UInt64.self)
        pointer.storeBytes(of: words.3, toByteOffset: 24, as: UInt64.self)
    }

    public var bytes: [UInt8] {
        var copy = words
        return withUnsafeBytes(of: &copy) { Array($0) }
    }

    public var hex: String { Hex.encode(bytes) }

    public static func == (a: Bytes32, b: Bytes32) -> Bool {
        a.words.0 == b.words.0 && a.words.1 == b.words.1 && a.words.2 == b.words.2 && a.words.3 == b.words.3
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(words.0)
        hasher.combine(words.1)
        hasher.combine(words.2)
        hasher.combine(words.3)
    }
}
