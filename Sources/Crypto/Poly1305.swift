import CSodium

/// Poly1305 one-time authenticator (RFC 8439 §2.5). The key must never be used for two messages.
public enum Poly1305 {
    public static let keyBytes = 32
    public static let tagBytes = 16

    @inlinable
    public static func authenticate(key: UnsafeRawPointer, message: UnsafeRawPointer?, count: Int,
                                    tag: UnsafeMutableRawPointer) {
        Sodium.ready()
        crypto_onetimeauth_poly1305(tag.assumingMemoryBound(to: UInt8.self),
                                    message?.assumingMemoryBound(to: UInt8.self), UInt64(count),
                                    key.assumingMemoryBound(to: UInt8.self))
    }

    /// Constant-time check of `tag` against the message.
    @inlinable
    public static func verify(key: UnsafeRawPointer, message: UnsafeRawPointer?, count: Int,
                              tag: UnsafeRawPointer) -> Bool {
        Sodium.ready()
        return crypto_onetimeauth_poly1305_verify(tag.assumingMemoryBound(to: UInt8.self),
                                                  message?.assumingMemoryBound(to: UInt8.self), UInt64(count),
                                                  key.assumingMemoryBound(to: UInt8.self)) == 0
    }

    public static func tag(key: [UInt8], _ message: [UInt8]) -> [UInt8] {
        precondition(key.count == keyBytes)
        var out = [UInt8](repeating: 0, count: tagBytes)
        key.withUnsafeBytes { k in message.withUnsafeBytes { m in out.withUnsafeMutableBytes { o in
            authenticate(key: k.baseAddress!, message: m.baseAddress, count: m.count, tag: o.baseAddress!)
        } } }
        return out
    }
}
