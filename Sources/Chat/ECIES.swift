import PosternCrypto

/// Encryption to a secp256k1 public key: ephemeral key e, s = ECDH(e, recipient) (libsecp256k1: SHA-256
/// of the compressed shared point), k = HKDF-SHA256(salt = E ‖ recipient (compressed), s,
/// "postern/chat/ecies/v1", 32), output = E (33) ‖ ChaCha20-Poly1305(k, nonce 0, plaintext). k is used
/// once (fresh e each time), so the zero nonce is safe.
public enum ECIES {
    static let info = Array("postern/chat/ecies/v1".utf8)
    static let nonce = [UInt8](repeating: 0, count: 12)

    static func key(_ shared: [UInt8], _ ephemeral: [UInt8], _ recipient: [UInt8]) -> [UInt8] {
        try! HKDF.derive(salt: ephemeral + recipient, ikm: shared, info: info, count: 32)
    }

    public static func encrypt(to recipient: [UInt8], _ plaintext: [UInt8]) -> [UInt8]? {
        guard let r = Secp256k1.normalize(recipient, compressed: true) else { return nil }
        var e = Random.bytes(32)
        while !Secp256k1.isValidSecret(e) { e = Random.bytes(32) }
        defer { Memory.wipe(&e) }
        guard let ephemeral = Secp256k1.publicKey(e), let shared = Secp256k1.ecdh(secret: e, publicKey: r) else { return nil }
        return ephemeral + ChaChaPoly.seal(key: key(shared, ephemeral, r), nonce: nonce, ad: [], plaintext)
    }

    /// nil when the ciphertext is not for `secret` (or was modified).
    public static func decrypt(secret: [UInt8], _ ciphertext: [UInt8]) -> [UInt8]? {
        guard ciphertext.count >= 33 + 16, let mine = Secp256k1.publicKey(secret) else { return nil }
        let ephemeral = Array(ciphertext[0..<33])
        guard let shared = Secp256k1.ecdh(secret: secret, publicKey: ephemeral) else { return nil }
        return try? ChaChaPoly.open(key: key(shared, ephemeral, mine), nonce: nonce, ad: [], Array(ciphertext[33...]))
    }
}
