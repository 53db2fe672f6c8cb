import PosternCrypto

/// LIONESS (Anderson & Biham, 1996): a wide-block cipher, i.e. a strong pseudorandom permutation of the
/// whole payload, built from ChaCha20 (stream) and keyed BLAKE2b-256 (hash). The payload is split into
/// L (32 bytes) ‖ R (the rest):
///
///     encrypt:  R ^= S(L ⊕ K1);  L ^= H(K2, R);  R ^= S(L ⊕ K3);  L ^= H(K4, R)
///     decrypt:  the same steps in reverse order
///
/// where S(k) is the ChaCha20 keystream under key k (nonce zero) and H(k, ·) is keyed BLAKE2b-256.
/// Because it is a strong PRP, changing any bit of a ciphertext turns the entire decryption into noise;
/// Postern relies on that to detect tagged payloads (the 16-byte zero prefix no longer decrypts to zero).
/// Each key is used once per payload and each hop has fresh keys, so the fixed nonce is safe.
///
/// No longer part of the packet format: packet format v2 (docs/PROTOCOL.md §2.6) replaced it with Adiantum
/// (`PayloadCipher`). Kept for one release as `postern-bench`'s `lioness-2k` reference line, so the gain
/// shows in one run; remove it after that.
public enum Lioness {
    public static let keyBytes = 128
    static let half = 32

    /// Encrypts `count` bytes in place with keys K1‖K2‖K3‖K4 (128 bytes); `scratch` needs 32 bytes.
    @inline(__always)
    public static func encrypt(_ p: UnsafeMutableRawPointer, count: Int, keys: UnsafeRawPointer, scratch: UnsafeMutableRawPointer) {
        streamRound(p, count, keys, scratch)
        hashRound(p, count, keys + 32, scratch)
        streamRound(p, count, keys + 64, scratch)
        hashRound(p, count, keys + 96, scratch)
    }

    @inline(__always)
    public static func decrypt(_ p: UnsafeMutableRawPointer, count: Int, keys: UnsafeRawPointer, scratch: UnsafeMutableRawPointer) {
        hashRound(p, count, keys + 96, scratch)
        streamRound(p, count, keys + 64, scratch)
        hashRound(p, count, keys + 32, scratch)
        streamRound(p, count, keys, scratch)
    }

    /// R ^= ChaCha20(L ⊕ k).
    @inline(__always)
    static func streamRound(_ p: UnsafeMutableRawPointer, _ count: Int, _ k: UnsafeRawPointer, _ scratch: UnsafeMutableRawPointer) {
        for i in 0..<4 {
            let w = p.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self) ^ k.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self)
            scratch.storeBytes(of: w, toByteOffset: 8 * i, as: UInt64.self)
        }
        withUnsafeTemporaryAllocation(byteCount: 12, alignment: 4) { nonce in
            nonce.initializeMemory(as: UInt8.self, repeating: 0)
            ChaCha20Fast.xor(key: scratch, nonce: nonce.baseAddress!, counter: 0,
                             input: p + half, output: p + half, count: count - half)
        }
        Memory.wipe(scratch, count: 32)
    }

    /// L ^= BLAKE2b-256(key k, R).
    @inline(__always)
    static func hashRound(_ p: UnsafeMutableRawPointer, _ count: Int, _ k: UnsafeRawPointer, _ scratch: UnsafeMutableRawPointer) {
        BLAKE2b.hash(key: k, keyCount: 32, message: p + half, count: count - half, output: scratch, outputCount: 32)
        for i in 0..<4 {
            let w = p.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self) ^ scratch.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self)
            p.storeBytes(of: w, toByteOffset: 8 * i, as: UInt64.self)
        }
    }
}
