import CSodium
import PosternCrypto
import Testing

/// SipHash-2-4 of one 64-bit word against libsodium's `crypto_shorthash_siphash24` (an independent
/// implementation) on the 8 little-endian bytes of the word.
@Suite struct SipHashTests {
    static func sodium(key: [UInt8], word: UInt64) -> UInt64 {
        var out = [UInt8](repeating: 0, count: 8)
        var m = word.littleEndian
        let input = withUnsafeBytes(of: &m) { Array($0) }
        _ = crypto_shorthash_siphash24(&out, input, 8, key)
        return out.enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
    }

    @Test func matchesLibsodiumOnTheReferenceKeyAndRandomInputs() {
        // The reference key of the SipHash paper (00 01 … 0f) with the message 00 01 … 07, then random ones.
        var cases: [([UInt8], UInt64)] = [(Array(0..<16), 0x0706_0504_0302_0100)]
        for _ in 0..<200 { cases.append((Random.bytes(16), Random.uint64())) }
        for (key, word) in cases {
            let k0 = key[0..<8].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            let k1 = key[8..<16].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            #expect(SipHash24.hash(k0: k0, k1: k1, word) == Self.sodium(key: key, word: word))
        }
        // The paper's table (vectors.h), message length 8: 62 24 93 9a 79 f5 f5 93 (little-endian output).
        #expect(SipHash24.hash(k0: 0x0706_0504_0302_0100, k1: 0x0f0e_0d0c_0b0a_0908, 0x0706_0504_0302_0100) == 0x93f5_f579_9a93_2462)
    }
}
