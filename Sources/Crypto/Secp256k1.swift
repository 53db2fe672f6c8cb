import CSecp256k1
import PosternSystem

/// libsecp256k1 for chat identities: key derivation, recoverable ECDSA over 32-byte digests (R ‖ S ‖ V
/// with V ∈ {0, 1}), public key recovery, ECDH and scalar tweaks (BIP32).
public enum Secp256k1 {
    nonisolated(unsafe) static var shared: OpaquePointer?

    static var context: OpaquePointer {
        if let shared { return shared }
        let ctx = secp256k1_context_create(1)!   // SECP256K1_CONTEXT_NONE: every operation is allowed
        var seed = Random.bytes(32)
        _ = secp256k1_context_randomize(ctx, seed)   // side-channel blinding
        Memory.wipe(&seed)
        shared = ctx
        return ctx
    }

    public static func isValidSecret(_ key: [UInt8]) -> Bool {
        key.count == 32 && secp256k1_ec_seckey_verify(context, key) == 1
    }

    /// The public key of a 32-byte secret: 33 bytes compressed or 65 uncompressed; nil if invalid.
    public static func publicKey(_ secret: [UInt8], compressed: Bool = true) -> [UInt8]? {
        guard secret.count == 32 else { return nil }
        var pub = secp256k1_pubkey()
        guard secp256k1_ec_pubkey_create(context, &pub, secret) == 1 else { return nil }
        return serialize(&pub, compressed: compressed)
    }

    static func serialize(_ pub: inout secp256k1_pubkey, compressed: Bool) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: compressed ? 33 : 65)
        var length = out.count
        _ = secp256k1_ec_pubkey_serialize(context, &out, &length, &pub, compressed ? 258 : 2)
        return out
    }

    static func parse(_ bytes: [UInt8]) -> secp256k1_pubkey? {
        var pub = secp256k1_pubkey()
        return secp256k1_ec_pubkey_parse(context, &pub, bytes, bytes.count) == 1 ? pub : nil
    }

    /// Re-encodes any valid public key (33 or 65 bytes) in the requested form.
    public static func normalize(_ publicKey: [UInt8], compressed: Bool) -> [UInt8]? {
        guard var pub = parse(publicKey) else { return nil }
        return serialize(&pub, compressed: compressed)
    }

    /// (secret + tweak) mod n; nil when the tweak is ≥ n or the result is zero (BIP32 says: skip index).
    public static func add(secret: [UInt8], tweak: [UInt8]) -> [UInt8]? {
        var key = secret
        guard key.count == 32, tweak.count == 32, secp256k1_ec_seckey_tweak_add(context, &key, tweak) == 1 else { return nil }
        return key
    }

    /// Recoverable signature R ‖ S ‖ V (RFC 6979 deterministic nonce), V ∈ {0, 1}.
    public static func sign(digest: [UInt8], secret: [UInt8]) -> [UInt8]? {
        guard digest.count == 32, secret.count == 32 else { return nil }
        var signature = secp256k1_ecdsa_recoverable_signature()
        guard secp256k1_ecdsa_sign_recoverable(context, &signature, digest, secret, nil, nil) == 1 else { return nil }
        var out = [UInt8](repeating: 0, count: 65)
        var recid: Int32 = 0
        _ = secp256k1_ecdsa_recoverable_signature_serialize_compact(context, &out, &recid, &signature)
        out[64] = UInt8(recid)
        return out
    }

    /// The signer's public key (65 bytes uncompressed) from a recoverable signature; nil if invalid.
    public static func recover(digest: [UInt8], signature: [UInt8]) -> [UInt8]? {
        guard digest.count == 32, signature.count == 65, signature[64] <= 3 else { return nil }
        var sig = secp256k1_ecdsa_recoverable_signature()
        guard secp256k1_ecdsa_recoverable_signature_parse_compact(context, &sig, signature, Int32(signature[64])) == 1 else { return nil }
        var pub = secp256k1_pubkey()
        guard secp256k1_ecdsa_recover(context, &pub, &sig, digest) == 1 else { return nil }
        return serialize(&pub, compressed: false)
    }

    /// ECDH: SHA-256 of the compressed shared point (libsecp256k1's default), 32 bytes.
    public static func ecdh(secret: [UInt8], publicKey: [UInt8]) -> [UInt8]? {
        guard secret.count == 32, var pub = parse(publicKey) else { return nil }
        var out = [UInt8](repeating: 0, count: 32)
        guard secp256k1_ecdh(context, &out, &pub, secret, nil, nil) == 1 else { return nil }
        return out
    }
}
