import PosternCrypto

/// The per-hop key schedule. From the hop's X25519 shared secret `s` and the layer's α:
///
///     K        = BLAKE2b-256(key = s, "postern/packet/v1" ‖ α)
///     subkeys  = ChaCha20(K, nonce = "keys", counter 0)[0 ..< 224]
///                  = k_mac (32) ‖ replay tag (32) ‖ LIONESS K1 ‖ K2 ‖ K3 ‖ K4 (32 each)
///     β stream = ChaCha20(K, nonce = "header", counter 0)
///
/// One hash and a few ChaCha20 blocks instead of HKDF: this runs for every packet at every hop, and
/// HKDF-SHA256 for 224 bytes would cost 8 HMACs (≈ 5% of an X25519 on x86). K is a PRF output keyed by
/// the DH secret and bound to α; ChaCha20 under distinct nonces gives independent streams from it.
enum HopKeys {
    static let label: [UInt8] = Array("postern/packet/v1".utf8)
    static let subkeyBytes = 224
    static let macKey = 0, replayTag = 32, lioness = 64

    /// 12-byte nonces, as little-endian words: "keys" and "header" in ASCII, zero-padded.
    static let keysNonce: (UInt32, UInt32, UInt32) = (0x7379_656b, 0, 0)
    static let headerNonce: (UInt32, UInt32, UInt32) = (0x6461_6568, 0x0000_7265, 0)

    /// Writes K (32 bytes) for shared secret `s` and α.
    @inline(__always)
    static func master(shared s: UnsafeRawPointer, alpha: UnsafeRawPointer, into k: UnsafeMutableRawPointer,
                       scratch: UnsafeMutableRawPointer) {
        // scratch = label ‖ α (17 + 32 bytes)
        label.withUnsafeBytes { scratch.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        (scratch + label.count).copyMemory(from: alpha, byteCount: 32)
        BLAKE2b.hash(key: s, keyCount: 32, message: scratch, count: label.count + 32, output: k, outputCount: 32)
    }

    /// Fills `out` with the 224 subkey bytes.
    @inline(__always)
    static func subkeys(master k: UnsafeRawPointer, into out: UnsafeMutableRawPointer) {
        out.initializeMemory(as: UInt8.self, repeating: 0, count: subkeyBytes)
        var nonce = keysNonce
        withUnsafeBytes(of: &nonce) { n in
            ChaCha20Fast.xor(key: k, nonce: n.baseAddress!, counter: 0, input: out, output: out, count: subkeyBytes)
        }
    }

    /// XORs the β keystream into `count` bytes at `buffer`.
    @inline(__always)
    static func headerStream(master k: UnsafeRawPointer, buffer: UnsafeMutableRawPointer, count: Int) {
        var nonce = headerNonce
        withUnsafeBytes(of: &nonce) { n in
            ChaCha20Fast.xor(key: k, nonce: n.baseAddress!, counter: 0, input: buffer, output: buffer, count: count)
        }
    }

    /// γ = BLAKE2b-128(key = k_mac, β).
    @inline(__always)
    static func mac(key: UnsafeRawPointer, beta: UnsafeRawPointer, count: Int, into out: UnsafeMutableRawPointer) {
        BLAKE2b.hash(key: key, keyCount: 32, message: beta, count: count, output: out, outputCount: Geometry.macBytes)
    }
}
