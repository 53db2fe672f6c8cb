import CSystem

/// An IP literal as the 16 bytes packets carry it (docs/PROTOCOL.md §2.2): an IPv6 address, or an IPv4
/// address in the first four bytes and zeros after. `family` is 4 or 6.
public struct IPAddress: Equatable, Hashable, Sendable {
    public let family: UInt8
    /// The 16 bytes in network order, as two words loaded from memory (native byte order).
    public let words: (UInt64, UInt64)

    /// nil unless `text` is an IPv4 or IPv6 literal (host names are not resolved).
    public init?(_ text: String) {
        var bytes = (UInt64(0), UInt64(0))
        let family = withUnsafeMutableBytes(of: &bytes) { b in
            text.withCString { psys_ip_parse($0, b.baseAddress!.assumingMemoryBound(to: UInt8.self)) }
        }
        guard family == 4 || family == 6 else { return nil }
        self.family = UInt8(family)
        words = bytes
    }

    /// The address of `family` (4 or 6) in the 16 bytes at `p`; nil for another family, or an IPv4
    /// address whose bytes 4…15 are not zero.
    public init?(family: UInt8, bytes p: UnsafeRawPointer) {
        let words = (p.loadUnaligned(as: UInt64.self), p.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
        guard family == 6 || (family == 4 && Self.ipv4TailIsZero(p)) else { return nil }
        self.family = family
        self.words = words
    }

    private static func ipv4TailIsZero(_ p: UnsafeRawPointer) -> Bool {
        for i in 4..<16 where p.load(fromByteOffset: i, as: UInt8.self) != 0 { return false }
        return true
    }

    /// Writes the 16 bytes to `p`.
    public func store(to p: UnsafeMutableRawPointer) {
        p.storeBytes(of: words.0, as: UInt64.self)
        p.storeBytes(of: words.1, toByteOffset: 8, as: UInt64.self)
    }

    /// The literal's text ("192.0.2.1", "2001:db8::1").
    public var text: String {
        var copy = words
        var out = [CChar](repeating: 0, count: 64)
        let rc = withUnsafeBytes(of: &copy) { b in
            psys_ip_format(Int32(family), b.baseAddress!.assumingMemoryBound(to: UInt8.self), &out, 64)
        }
        guard rc == 0 else { return "" }
        return String(decoding: out.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// "host:port" for `TCP.connect`: IPv6 in brackets.
    public func endpoint(port: UInt16) -> String { family == 6 ? "[\(text)]:\(port)" : "\(text):\(port)" }

    public static func == (a: IPAddress, b: IPAddress) -> Bool {
        a.family == b.family && a.words.0 == b.words.0 && a.words.1 == b.words.1
    }
    public func hash(into hasher: inout Hasher) { hasher.combine(family); hasher.combine(words.0); hasher.combine(words.1) }
}
