import CSodium

/// Ed25519 signatures (RFC 8032) through libsodium: node identities sign their descriptors, network keys certificates.
public enum Ed25519 {
    public static let publicKeyBytes = 32, secretKeyBytes = 64, signatureBytes = 64, seedBytes = 32

    /// A signing key derived from a 32-byte seed.
    public struct KeyPair: ~Copyable {
        public let publicKey: [UInt8]
        public let secretKey: SecretKey

        public init(seed: [UInt8]) {
            precondition(seed.count == seedBytes)
            Sodium.ready()
            var pk = [UInt8](repeating: 0, count: publicKeyBytes)
            var sk = SecretKey(zeroed: secretKeyBytes)
            seed.withUnsafeBytes { s in
                sk.withUnsafeMutableBytes { k in
                    _ = crypto_sign_seed_keypair(&pk, k.baseAddress!.assumingMemoryBound(to: UInt8.self),
                                                 s.baseAddress!.assumingMemoryBound(to: UInt8.self))
                }
            }
            publicKey = pk
            secretKey = sk
        }
    }

    public static func sign(_ message: [UInt8], secretKey: borrowing SecretKey) -> [UInt8] {
        Sodium.ready()
        var signature = [UInt8](repeating: 0, count: signatureBytes)
        secretKey.withUnsafeBytes { k in
            _ = crypto_sign_detached(&signature, nil, message, UInt64(message.count), k.baseAddress!.assumingMemoryBound(to: UInt8.self))
        }
        return signature
    }

    public static func verify(_ signature: [UInt8], _ message: [UInt8], publicKey: [UInt8]) -> Bool {
        guard signature.count == signatureBytes, publicKey.count == publicKeyBytes else { return false }
        Sodium.ready()
        return crypto_sign_verify_detached(signature, message, UInt64(message.count), publicKey) == 0
    }
}
