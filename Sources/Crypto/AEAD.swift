import CSodium
import PosternSystem

/// Authenticated encryption with associated data, combined form: ciphertext ‖ 16-byte tag.
///
/// `ChaChaPoly` is RFC 8439's ChaCha20-Poly1305 (96-bit nonce: counters only, e.g. Noise transport).
/// `XChaChaPoly` has a 192-bit nonce that is safe to pick at random (ratchet messages, stored state).
public protocol AEAD {
    static var nonceBytes: Int { get }

    /// Encrypts `count` bytes from `plaintext` into `output` (`count + 16` bytes; may alias plaintext).
    static func seal(key: UnsafeRawPointer, nonce: UnsafeRawPointer, ad: UnsafeRawPointer?, adCount: Int,
                     plaintext: UnsafeRawPointer?, count: Int, output: UnsafeMutableRawPointer)

    /// Decrypts `count` bytes (tag included) into `output` (`count - 16` bytes). No plaintext is written
    /// unless the tag verifies (libsodium zeroes `output` when it does not).
    static func open(key: UnsafeRawPointer, nonce: UnsafeRawPointer, ad: UnsafeRawPointer?, adCount: Int,
                     ciphertext: UnsafeRawPointer, count: Int, output: UnsafeMutableRawPointer?) throws(CryptoError)
}

extension AEAD {
    public static var keyBytes: Int { 32 }
    public static var tagBytes: Int { 16 }

    /// Array form for cold paths and tests.
    public static func seal(key: [UInt8], nonce: [UInt8], ad: [UInt8], _ plaintext: [UInt8]) -> [UInt8] {
        precondition(key.count == keyBytes && nonce.count == nonceBytes)
        var out = [UInt8](repeating: 0, count: plaintext.count + tagBytes)
        key.withUnsafeBytes { k in nonce.withUnsafeBytes { n in ad.withUnsafeBytes { a in
            plaintext.withUnsafeBytes { p in out.withUnsafeMutableBytes { o in
                seal(key: k.baseAddress!, nonce: n.baseAddress!, ad: a.baseAddress, adCount: a.count,
                     plaintext: p.baseAddress, count: p.count, output: o.baseAddress!)
            } }
        } } }
        return out
    }

    /// Array form of `open`.
    public static func open(key: [UInt8], nonce: [UInt8], ad: [UInt8], _ sealed: [UInt8]) throws(CryptoError) -> [UInt8] {
        guard key.count == keyBytes, nonce.count == nonceBytes, sealed.count >= tagBytes else { throw .badLength }
        var out = [UInt8](repeating: 0, count: sealed.count - tagBytes)
        try withBytes(key) { (k) throws(CryptoError) in
            try withBytes(nonce) { (n) throws(CryptoError) in
                try withBytes(ad) { (a) throws(CryptoError) in
                    try withBytes(sealed) { (c) throws(CryptoError) in
                        try withMutableBytes(&out) { (o) throws(CryptoError) in
                            try open(key: k.baseAddress!, nonce: n.baseAddress!, ad: a.baseAddress, adCount: a.count,
                                     ciphertext: c.baseAddress!, count: c.count, output: o.baseAddress)
                        }
                    }
                }
            }
        }
        return out
    }
}

public enum ChaChaPoly: AEAD {
    public static var nonceBytes: Int { 12 }

    @inlinable
    public static func seal(key: UnsafeRawPointer, nonce: UnsafeRawPointer, ad: UnsafeRawPointer?, adCount: Int,
                            plaintext: UnsafeRawPointer?, count: Int, output: UnsafeMutableRawPointer) {
        Sodium.ready()
        crypto_aead_chacha20poly1305_ietf_encrypt(
            output.assumingMemoryBound(to: UInt8.self), nil,
            plaintext?.assumingMemoryBound(to: UInt8.self), UInt64(count),
            ad?.assumingMemoryBound(to: UInt8.self), UInt64(adCount), nil,
            nonce.assumingMemoryBound(to: UInt8.self), key.assumingMemoryBound(to: UInt8.self))
    }

    @inlinable
    public static func open(key: UnsafeRawPointer, nonce: UnsafeRawPointer, ad: UnsafeRawPointer?, adCount: Int,
                            ciphertext: UnsafeRawPointer, count: Int,
                            output: UnsafeMutableRawPointer?) throws(CryptoError) {
        guard count >= 16 else { throw .badLength }
        Sodium.ready()
        let r = crypto_aead_chacha20poly1305_ietf_decrypt(
            output?.assumingMemoryBound(to: UInt8.self), nil, nil,
            ciphertext.assumingMemoryBound(to: UInt8.self), UInt64(count),
            ad?.assumingMemoryBound(to: UInt8.self), UInt64(adCount),
            nonce.assumingMemoryBound(to: UInt8.self), key.assumingMemoryBound(to: UInt8.self))
        if r != 0 { throw .authenticationFailed }
    }
}

public enum XChaChaPoly: AEAD {
    public static var nonceBytes: Int { 24 }

    @inlinable
    public static func seal(key: UnsafeRawPointer, nonce: UnsafeRawPointer, ad: UnsafeRawPointer?, adCount: Int,
                            plaintext: UnsafeRawPointer?, count: Int, output: UnsafeMutableRawPointer) {
        Sodium.ready()
        crypto_aead_xchacha20poly1305_ietf_encrypt(
            output.assumingMemoryBound(to: UInt8.self), nil,
            plaintext?.assumingMemoryBound(to: UInt8.self), UInt64(count),
            ad?.assumingMemoryBound(to: UInt8.self), UInt64(adCount), nil,
            nonce.assumingMemoryBound(to: UInt8.self), key.assumingMemoryBound(to: UInt8.self))
    }

    @inlinable
    public static func open(key: UnsafeRawPointer, nonce: UnsafeRawPointer, ad: UnsafeRawPointer?, adCount: Int,
                            ciphertext: UnsafeRawPointer, count: Int,
                            output: UnsafeMutableRawPointer?) throws(CryptoError) {
        guard count >= 16 else { throw .badLength }
        Sodium.ready()
        let r = crypto_aead_xchacha20poly1305_ietf_decrypt(
            output?.assumingMemoryBound(to: UInt8.self), nil, nil,
            ciphertext.assumingMemoryBound(to: UInt8.self), UInt64(count),
            ad?.assumingMemoryBound(to: UInt8.self), UInt64(adCount),
            nonce.assumingMemoryBound(to: UInt8.self), key.assumingMemoryBound(to: UInt8.self))
        if r != 0 { throw .authenticationFailed }
    }
}
