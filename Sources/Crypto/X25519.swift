import CSodium
import PosternSystem

/// X25519 Diffie-Hellman (RFC 7748) on libsodium's constant-time implementation.
public enum X25519 {
    public static let keyBytes = 32

    /// `out = scalar · basepoint`: the public key of a secret scalar. Raw form for the hot path.
    @inlinable
    public static func publicKey(secret: UnsafeRawPointer, into out: UnsafeMutableRawPointer) {
        Sodium.ready()
        crypto_scalarmult_curve25519_base(out.assumingMemoryBound(to: UInt8.self),
                                          secret.assumingMemoryBound(to: UInt8.self))
    }

    /// `out = scalar · point`. Throws `.weakPublicKey` when the result is all zeros (a low-order point),
    /// which RFC 7748 §6.1 says a protocol must reject.
    @inlinable
    public static func sharedSecret(secret: UnsafeRawPointer, publicKey: UnsafeRawPointer,
                                    into out: UnsafeMutableRawPointer) throws(CryptoError) {
        Sodium.ready()
        let r = crypto_scalarmult_curve25519(out.assumingMemoryBound(to: UInt8.self),
                                             secret.assumingMemoryBound(to: UInt8.self),
                                             publicKey.assumingMemoryBound(to: UInt8.self))
        if r != 0 { throw .weakPublicKey }
    }

    /// A secret scalar and its public key.
    public struct KeyPair: ~Copyable {
        public let secret: SecretKey
        public let publicKey: [UInt8]

        /// A fresh random key pair.
        public init() {
            secret = SecretKey(randomBytes: keyBytes)
            publicKey = X25519.publicKey(of: secret)
        }

        public init(secret: consuming SecretKey) {
            publicKey = X25519.publicKey(of: secret)
            self.secret = secret
        }
    }

    public static func publicKey(of secret: borrowing SecretKey) -> [UInt8] {
        precondition(secret.count == keyBytes)
        var out = [UInt8](repeating: 0, count: keyBytes)
        out.withUnsafeMutableBytes { publicKey(secret: secret.pointer, into: $0.baseAddress!) }
        return out
    }

    public static func sharedSecret(_ secret: borrowing SecretKey, _ publicKey: [UInt8]) throws(CryptoError) -> SecretKey {
        guard secret.count == keyBytes, publicKey.count == keyBytes else { throw .badLength }
        var out = SecretKey(zeroed: keyBytes)
        try out.withUnsafeMutableBytes { (o: UnsafeMutableRawBufferPointer) throws(CryptoError) in
            try withBytes(publicKey) { (p: UnsafeRawBufferPointer) throws(CryptoError) in
                try sharedSecret(secret: secret.pointer, publicKey: p.baseAddress!, into: o.baseAddress!)
            }
        }
        return out
    }
}
