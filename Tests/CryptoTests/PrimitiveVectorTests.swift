import PosternCrypto
import Testing

/// Every vector in x25519.json, chacha20.json and kdf.json, plus RFC vectors for HMAC and Poly1305.
@Suite struct PrimitiveVectorTests {
    @Test func x25519() throws {
        let cases = try VectorFile.cases("x25519", "vectors")
        #expect(cases.count == 6)
        for v in cases {
            let secret = SecretKey(copying: try v.hex("scalar"))
            let shared = try X25519.sharedSecret(secret, try v.hex("u"))
            #expect(shared.exportBytes() == (try v.hex("out")))
        }
    }

    @Test func x25519RejectsLowOrderPoint() {
        let secret = SecretKey(randomBytes: 32)
        #expect(throws: CryptoError.weakPublicKey) { try X25519.sharedSecret(secret, [UInt8](repeating: 0, count: 32)) }
    }

    @Test func x25519AgreementIsSymmetric() throws {
        let a = X25519.KeyPair(), b = X25519.KeyPair()
        let ab = try X25519.sharedSecret(a.secret, b.publicKey)
        let ba = try X25519.sharedSecret(b.secret, a.publicKey)
        let agreed = ab.matches(ba)
        #expect(agreed)
    }

    @Test func chacha20BothImplementations() throws {
        let cases = try VectorFile.cases("chacha20", "chacha20")
        #expect(cases.count == 10)
        for v in cases {
            let key = try v.hex("key"), nonce = try v.hex("nonce"), counter = UInt32(try v.int("counter"))
            let plaintext = try v.hex("plaintext"), expected = try v.hex("ciphertext")
            #expect(ChaCha20Sodium.xor(key: key, nonce: nonce, counter: counter, plaintext) == expected)
            #expect(ChaCha20SIMD.xor(key: key, nonce: nonce, counter: counter, plaintext) == expected,
                    "SIMD, counter \(counter), \(plaintext.count) bytes")
        }
    }

    @Test func chacha20Poly1305() throws {
        let cases = try VectorFile.cases("chacha20", "chacha20poly1305_ietf")
        #expect(cases.count == 4)
        for v in cases {
            let key = try v.hex("key"), nonce = try v.hex("nonce"), ad = try v.hex("ad")
            let plaintext = try v.hex("plaintext"), sealed = try v.hex("ciphertext_and_tag")
            #expect(ChaChaPoly.seal(key: key, nonce: nonce, ad: ad, plaintext) == sealed)
            #expect(try ChaChaPoly.open(key: key, nonce: nonce, ad: ad, sealed) == plaintext)
            for index in [0, sealed.count / 2, sealed.count - 1] {
                var forged = sealed
                forged[index] ^= 0x01
                #expect(throws: CryptoError.authenticationFailed) {
                    try ChaChaPoly.open(key: key, nonce: nonce, ad: ad, forged)
                }
            }
        }
    }

    @Test func hkdfSHA256() throws {
        let cases = try VectorFile.cases("kdf", "hkdf_sha256")
        #expect(cases.count == 5)
        for v in cases {
            let okm = try HKDF.derive(salt: try v.hex("salt"), ikm: try v.hex("ikm"), info: try v.hex("info"),
                                      count: try v.int("length"))
            #expect(okm == (try v.hex("okm")))
        }
    }

    @Test func keyedBLAKE2b() throws {
        let cases = try VectorFile.cases("kdf", "blake2b_keyed")
        #expect(cases.count == 6)
        for v in cases {
            let key = try v.hex("key"), message = try v.hex("msg")
            #expect(BLAKE2b.hash(key: key, message, outputCount: 32) == (try v.hex("out32")))
            #expect(BLAKE2b.hash(key: key, message, outputCount: 64) == (try v.hex("out64")))
            // The incremental hasher agrees with the one-shot form when fed in pieces.
            let hasher = key.withUnsafeBytes { BLAKE2b.Hasher(key: $0, outputCount: 64) }
            let half = message.count / 2
            hasher.update(Array(message[..<half]))
            hasher.update(Array(message[half...]))
            #expect(hasher.finish() == (try v.hex("out64")))
        }
    }

    // RFC 4231 test cases 2 and 6.
    @Test func hmac() {
        let jefe = Array("Jefe".utf8), text = Array("what do ya want for nothing?".utf8)
        #expect(Hex.encode(HMACSHA256.authenticate(key: jefe, text))
                == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        #expect(Hex.encode(HMACSHA512.authenticate(key: jefe, text))
                == "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737")
        let longKey = [UInt8](repeating: 0xaa, count: 131)
        #expect(Hex.encode(HMACSHA256.authenticate(key: longKey, Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8)))
                == "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54")
    }

    // RFC 8439 §2.5.2.
    @Test func poly1305() {
        let key = Hex.decode("85d6be7857556d337f4452fe42d506a80103808afb0db2fd4abff6af4149f51b")!
        #expect(Hex.encode(Poly1305.tag(key: key, Array("Cryptographic Forum Research Group".utf8)))
                == "a8061dc1305136c6c22b8baf0c0127a9")
    }

    @Test func xchachaRoundTripAndForgery() throws {
        let key = Random.bytes(32), nonce = Random.bytes(24), ad = Array("header".utf8)
        for length in [0, 1, 63, 64, 1000] {
            let plaintext = Random.bytes(length)
            let sealed = XChaChaPoly.seal(key: key, nonce: nonce, ad: ad, plaintext)
            #expect(sealed.count == length + 16)
            #expect(try XChaChaPoly.open(key: key, nonce: nonce, ad: ad, sealed) == plaintext)
            var wrongAD = ad
            wrongAD[0] ^= 1
            #expect(throws: CryptoError.authenticationFailed) { try XChaChaPoly.open(key: key, nonce: nonce, ad: wrongAD, sealed) }
        }
    }
}
