/// SipHash-2-4 (Aumasson & Bernstein, 2012) of one 64-bit word: the same value as SipHash-2-4 of the
/// word's 8 little-endian bytes (checked against libsodium's `crypto_shorthash` in the tests). A keyed
/// PRF for hashing ids someone else chose (the min-wise samplers of the gossip sample), not a MAC.
public enum SipHash24 {
    @inlinable @inline(__always)
    static func round(_ v0: inout UInt64, _ v1: inout UInt64, _ v2: inout UInt64, _ v3: inout UInt64) {
        v0 &+= v1; v1 = v1.rotl(13); v1 ^= v0; v0 = v0.rotl(32)
        v2 &+= v3; v3 = v3.rotl(16); v3 ^= v2
        v0 &+= v3; v3 = v3.rotl(21); v3 ^= v0
        v2 &+= v1; v1 = v1.rotl(17); v1 ^= v2; v2 = v2.rotl(32)
    }

    @inlinable
    public static func hash(k0: UInt64, k1: UInt64, _ m: UInt64) -> UInt64 {
        var v0 = k0 ^ 0x736f_6d65_7073_6575, v1 = k1 ^ 0x646f_7261_6e64_6f6d
        var v2 = k0 ^ 0x6c79_6765_6e65_7261, v3 = k1 ^ 0x7465_6462_7974_6573
        v3 ^= m
        round(&v0, &v1, &v2, &v3); round(&v0, &v1, &v2, &v3)
        v0 ^= m
        // The final block: no message bytes left, length 8 in the top byte.
        let b: UInt64 = 8 << 56
        v3 ^= b
        round(&v0, &v1, &v2, &v3); round(&v0, &v1, &v2, &v3)
        v0 ^= b
        v2 ^= 0xff
        round(&v0, &v1, &v2, &v3); round(&v0, &v1, &v2, &v3); round(&v0, &v1, &v2, &v3); round(&v0, &v1, &v2, &v3)
        return v0 ^ v1 ^ v2 ^ v3
    }
}

extension UInt64 {
    @inlinable @inline(__always)
    func rotl(_ n: UInt64) -> UInt64 { self &<< n | self &>> (64 &- n) }
}
