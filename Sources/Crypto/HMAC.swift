import CSodium

/// HMAC-SHA256 and HMAC-SHA512 (RFC 2104) with keys of any length, through libsodium's streaming API
/// (its one-shot API fixes the key length at 32 bytes, which HKDF's salt does not fit).
public enum HMACSHA256 {
    public static let outputBytes = 32

    @inlinable
    public static func authenticate(key: UnsafeRawPointer?, keyCount: Int,
                                    message: UnsafeRawPointer?, count: Int, output: UnsafeMutableRawPointer) {
        var state = HMACState(key: key, keyCount: keyCount)
        if let message { state.update(message, count) }
        state.finish(into: output)
    }

    public static func authenticate(key: [UInt8], _ message: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: outputBytes)
        key.withUnsafeBytes { k in message.withUnsafeBytes { m in out.withUnsafeMutableBytes { o in
            authenticate(key: k.baseAddress, keyCount: k.count, message: m.baseAddress, count: m.count,
                         output: o.baseAddress!)
        } } }
        return out
    }
}

public enum HMACSHA512 {
    public static let outputBytes = 64

    @inlinable
    public static func authenticate(key: UnsafeRawPointer?, keyCount: Int,
                                    message: UnsafeRawPointer?, count: Int, output: UnsafeMutableRawPointer) {
        Sodium.ready()
        var state = crypto_auth_hmacsha512_state()
        var empty: UInt8 = 0
        crypto_auth_hmacsha512_init(&state, key?.assumingMemoryBound(to: UInt8.self) ?? withUnsafePointer(to: &empty) { $0 },
                                    keyCount)
        crypto_auth_hmacsha512_update(&state, message?.assumingMemoryBound(to: UInt8.self), UInt64(count))
        crypto_auth_hmacsha512_final(&state, output.assumingMemoryBound(to: UInt8.self))
        withUnsafeMutableBytes(of: &state) { Memory.wipe($0.baseAddress!, count: $0.count) }
    }

    public static func authenticate(key: [UInt8], _ message: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: outputBytes)
        key.withUnsafeBytes { k in message.withUnsafeBytes { m in out.withUnsafeMutableBytes { o in
            authenticate(key: k.baseAddress, keyCount: k.count, message: m.baseAddress, count: m.count,
                         output: o.baseAddress!)
        } } }
        return out
    }
}

/// SHA-256 and SHA-512 digests.
public enum SHA2 {
    public static func sha256(_ message: [UInt8]) -> [UInt8] {
        Sodium.ready()
        var out = [UInt8](repeating: 0, count: 32)
        message.withUnsafeBytes { m in out.withUnsafeMutableBytes { o in
            _ = crypto_hash_sha256(o.baseAddress!.assumingMemoryBound(to: UInt8.self),
                                   m.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt64(m.count))
        } }
        return out
    }

    public static func sha512(_ message: [UInt8]) -> [UInt8] {
        Sodium.ready()
        var out = [UInt8](repeating: 0, count: 64)
        message.withUnsafeBytes { m in out.withUnsafeMutableBytes { o in
            _ = crypto_hash_sha512(o.baseAddress!.assumingMemoryBound(to: UInt8.self),
                                   m.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt64(m.count))
        } }
        return out
    }
}
