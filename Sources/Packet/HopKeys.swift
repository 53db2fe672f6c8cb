import PosternCrypto

/// The per-hop key schedule. From the hop's X25519 shared secret `s` and the layer's α:
///
///     K       = BLAKE2b-256(s ‖ "postern/packet/v3" ‖ α)      (unkeyed, 81 bytes: one compression)
///     stream  = ChaCha20(K, nonce = "postern-hop\0")
///     subkeys = stream[0 ..< 80]    = k_mac (32) ‖ replay tag (16) ‖ payload key k_p (32)
///     β mask  = stream[80 ...]      (from the middle of block 1)
///
/// k_p is the hop's Adiantum key for the payload (`PayloadCipher`).
///
/// 80 subkey bytes, not a whole number of blocks, so that a relay's single ChaCha20 call over subkeys ‖
/// β ‖ 0^slot (80 + 540 + 108 = 728 bytes by default) fits in 12 blocks: three batches of the 4-block SIMD
/// core instead of four.
///
/// One small hash and one ChaCha20 stream instead of HKDF: this runs for every packet at every hop, and
/// HKDF-SHA256 for these bytes would cost 9 HMACs. K is a PRF output keyed by the DH secret and bound to α:
/// BLAKE2b is not open to length extension and the input has a fixed length, so the secret as a prefix
/// keys it as well as BLAKE2b's keyed mode would, which spends a whole extra block on the key.
/// The relay computes subkeys and β mask in one ChaCha20 call over a workspace copy of β, so nothing in
/// the packet changes before the MAC has verified.
enum HopKeys {
    static let label: [UInt8] = Array("postern/packet/v3".utf8)
    static let subkeyBytes = 80
    static let macKey = 0, replayTag = 32, payloadKey = 48
    /// "postern-hop\0" as three little-endian words.
    static let nonce: (UInt32, UInt32, UInt32) = (0x7473_6f70, 0x2d6e_7265, 0x0070_6f68)

    /// Bytes of scratch `master` needs.
    static let masterScratchBytes = 96

    /// Writes K (32 bytes) for shared secret `s` and α; `scratch` (`masterScratchBytes`) is wiped after.
    @inline(__always)
    static func master(shared s: UnsafeRawPointer, alpha: UnsafeRawPointer, into k: UnsafeMutableRawPointer,
                       scratch: UnsafeMutableRawPointer) {
        // scratch = s ‖ label ‖ α (32 + 17 + 32 bytes)
        scratch.copyMemory(from: s, byteCount: 32)
        label.withUnsafeBytes { (scratch + 32).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        (scratch + 32 + label.count).copyMemory(from: alpha, byteCount: 32)
        BLAKE2b.hash(key: nil, keyCount: 0, message: scratch, count: 64 + label.count, output: k, outputCount: 32)
        Memory.wipe(scratch, count: 32)
    }

    /// XORs the hop's stream, from block `counter`, into `count` bytes at `buffer`.
    @inline(__always)
    static func stream(master k: UnsafeRawPointer, counter: UInt32, buffer: UnsafeMutableRawPointer, count: Int) {
        var n = nonce
        withUnsafeBytes(of: &n) { n in
            ChaCha20Fast.xor(key: k, nonce: n.baseAddress!, counter: counter, input: buffer, output: buffer, count: count)
        }
    }

    /// Fills `out` with the 80 subkey bytes (the builder's path; the relay derives them together with
    /// the β mask).
    @inline(__always)
    static func subkeys(master k: UnsafeRawPointer, into out: UnsafeMutableRawPointer) {
        out.initializeMemory(as: UInt8.self, repeating: 0, count: subkeyBytes)
        stream(master: k, counter: 0, buffer: out, count: subkeyBytes)
    }

    /// γ = Poly1305(k_mac, β). k_mac is fresh for every packet and hop and tags exactly one message (the
    /// sender's), which is what a one-time authenticator needs.
    @inline(__always)
    static func mac(key: UnsafeRawPointer, beta: UnsafeRawPointer, count: Int, into out: UnsafeMutableRawPointer) {
        Poly1305.authenticate(key: key, message: beta, count: count, tag: out)
    }
}
