import PosternCrypto
import Testing

/// Every vector in adiantum.json (google/adiantum's Python reference, cross-checked with the Linux
/// kernel's test vectors): the full cipher both ways, its subkeys and intermediate values, NH,
/// NHPoly1305, XChaCha12, HChaCha12 and AES-256; plus the AES S-box against GF(2⁸) arithmetic.
@Suite struct AdiantumVectorTests {
    @Test func fullCipherBothWays() throws {
        let cases = try VectorFile.cases("adiantum", "adiantum")
        #expect(cases.count == 24)
        var lengths = Set<Int>(), tweaks = Set<Int>()
        for v in cases {
            let name = v["name"] as? String ?? "?"
            let key = try v.hex("key"), tweak = try v.hex("tweak")
            let plaintext = try v.hex("plaintext"), ciphertext = try v.hex("ciphertext")
            #expect(Adiantum.encrypt(key: key, tweak: tweak, plaintext) == ciphertext, "encrypt \(name)")
            #expect(Adiantum.decrypt(key: key, tweak: tweak, ciphertext) == plaintext, "decrypt \(name)")
            lengths.insert(plaintext.count)
            tweaks.insert(tweak.count)
        }
        #expect(tweaks == [0, 12, 32])
        #expect(lengths.contains(16) && lengths.contains(17) && lengths.contains(2048) && lengths.contains(4096))
    }

    @Test func subkeyDerivation() throws {
        let cases = try VectorFile.cases("adiantum", "adiantum_subkeys")
        #expect(cases.count == 2)
        for v in cases {
            let s = Adiantum.subkeys(key: try v.hex("key"))
            #expect(s == (try v.hex("stream")))
            #expect(Array(s[0..<32]) == (try v.hex("k_e")))
            #expect(Array(s[32..<48]) == (try v.hex("k_t")))
            #expect(Array(s[48..<64]) == (try v.hex("k_m")))
            #expect(Array(s[64...]) == (try v.hex("k_n")))
        }
    }

    @Test func intermediateValues() throws {
        let full = try VectorFile.cases("adiantum", "adiantum")
        let cases = try VectorFile.cases("adiantum", "adiantum_intermediates")
        #expect(cases.count == 3)
        for v in cases {
            let name = try #require(v["name"] as? String)
            let vector = try #require(full.first { $0["name"] as? String == name })
            let i = Adiantum.intermediates(key: try vector.hex("key"), tweak: try vector.hex("tweak"),
                                           try vector.hex("plaintext"))
            #expect(i.hashPL == (try v.hex("hash_tweak_pl")), "\(name) H(T, P_L)")
            #expect(i.pM == (try v.hex("p_m")), "\(name) P_M")
            #expect(i.cM == (try v.hex("c_m")), "\(name) C_M")
            #expect(i.cM + [1, 0, 0, 0, 0, 0, 0, 0] == (try v.hex("stream_nonce")), "\(name) nonce")
            #expect(i.hashCL == (try v.hex("hash_tweak_cl")), "\(name) H(T, C_L)")
        }
    }

    @Test func nh() throws {
        let cases = try VectorFile.cases("adiantum", "nh")
        #expect(cases.count == 6)
        for v in cases {
            let message = try v.hex("message")
            #expect(NH.hash(key: try v.hex("key"), message) == (try v.hex("hash")), "\(message.count) bytes")
        }
    }

    @Test func nhPoly1305() throws {
        let cases = try VectorFile.cases("adiantum", "nhpoly1305")
        #expect(cases.count == 9)
        for v in cases {
            let message = try v.hex("message")
            #expect(Adiantum.nhPoly1305(key: try v.hex("key"), message) == (try v.hex("hash")), "\(message.count) bytes")
        }
    }

    @Test func xchacha12() throws {
        let cases = try VectorFile.cases("adiantum", "xchacha12")
        #expect(cases.count == 6)
        for v in cases {
            let expected = try v.hex("keystream")
            let zeros = [UInt8](repeating: 0, count: expected.count)
            #expect(XChaCha12.xor(key: try v.hex("key"), nonce: try v.hex("nonce"), zeros) == expected)
        }
    }

    @Test func hchacha12() throws {
        let cases = try VectorFile.cases("adiantum", "hchacha12")
        #expect(cases.count == 2)
        for v in cases {
            let key = try v.hex("key"), nonce = try v.hex("nonce")
            var out = [UInt8](repeating: 0, count: 32)
            key.withUnsafeBytes { k in nonce.withUnsafeBytes { n in out.withUnsafeMutableBytes { o in
                HChaCha12.subkey(key: k.baseAddress!, nonce: n.baseAddress!, into: o.baseAddress!)
            } } }
            #expect(out == (try v.hex("subkey")))
        }
    }

    @Test func aes256Blocks() throws {
        let cases = try VectorFile.cases("adiantum", "aes256")
        #expect(cases.count == 5)
        for v in cases {
            let key = try v.hex("key"), plaintext = try v.hex("plaintext"), ciphertext = try v.hex("ciphertext")
            #expect(AES256.encrypt(key: key, plaintext) == ciphertext)
            #expect(AES256.decrypt(key: key, ciphertext) == plaintext)
        }
        // FIPS-197 Appendix C.3, typed in from the standard rather than taken from the file.
        let fipsKey = (0..<32).map { UInt8($0) }
        let fipsPlain: [UInt8] = Hex.decode("00112233445566778899aabbccddeeff")!
        #expect(AES256.encrypt(key: fipsKey, fipsPlain) == Hex.decode("8ea2b7ca516745bfeafc49904b496089")!)
    }

    /// The bitsliced S-box and its inverse against the definition: S(x) = A(x⁻¹) ⊕ 63 in GF(2⁸).
    @Test func sboxMatchesFieldArithmetic() {
        func multiply(_ a: UInt8, _ b: UInt8) -> UInt8 {
            var a = a, b = b, p: UInt8 = 0
            for _ in 0..<8 {
                if b & 1 != 0 { p ^= a }
                let high = a & 0x80
                a <<= 1
                if high != 0 { a ^= 0x1b }
                b >>= 1
            }
            return p
        }
        func inverse(_ x: UInt8) -> UInt8 {
            x == 0 ? 0 : (1...255).map(UInt8.init).first { multiply(x, $0) == 1 }!
        }
        func rotl(_ x: UInt8, _ n: Int) -> UInt8 { (x << n) | (x >> (8 - n)) }
        var table = [UInt8](repeating: 0, count: 256)
        for x in 0..<256 {
            let b = inverse(UInt8(x))
            table[x] = b ^ rotl(b, 1) ^ rotl(b, 2) ^ rotl(b, 3) ^ rotl(b, 4) ^ 0x63
        }
        #expect(table[0x00] == 0x63 && table[0x53] == 0xed)  // FIPS-197 §5.1.1 example
        var inverseTable = [UInt8](repeating: 0, count: 256)
        for x in 0..<256 { inverseTable[Int(table[x])] = UInt8(x) }
        for start in stride(from: 0, to: 256, by: 16) {
            let input = (start..<start + 16).map(UInt8.init)
            #expect(AES256.substitute(input) == input.map { table[Int($0)] })
            #expect(AES256.substitute(input, inverse: true) == input.map { inverseTable[Int($0)] })
        }
    }

    @Test func randomRoundTrips() {
        for length in [16, 17, 31, 100, 1023, 1024, 1025, 2048, 2049, 3000] {
            let key = Random.bytes(32), tweak = Random.bytes(length % 33), data = Random.bytes(length)
            let c = Adiantum.encrypt(key: key, tweak: tweak, data)
            #expect(c != data)
            #expect(Adiantum.decrypt(key: key, tweak: tweak, c) == data, "\(length) bytes")
        }
    }

    /// A strong PRP: one flipped ciphertext bit anywhere scrambles the whole plaintext, including the first
    /// 16 bytes that Postern's zero-prefix check reads.
    @Test func oneFlippedBitScramblesEverything() {
        let key = Random.bytes(32), plain = [UInt8](repeating: 0, count: 2048)
        let c = Adiantum.encrypt(key: key, tweak: [], plain)
        for position in [0, 15, 16, 1000, 2031, 2032, 2047] {
            var tampered = c
            tampered[position] ^= 0x01
            let p = Adiantum.decrypt(key: key, tweak: [], tampered)
            #expect(p[0..<16].contains { $0 != 0 }, "bit at byte \(position)")
            #expect(p.filter { $0 == 0 }.count < 40, "bit at byte \(position)")
        }
    }
}
