import PosternCrypto

/// Published vectors embedded in the binary (the board has no test resources): RFC 7748, RFC 8439,
/// RFC 5869, RFC 4231, FIPS-197, the project's pyca/hashlib vector files and adiantum.json (google/adiantum's
/// reference and the Linux kernel's vectors).
extension SelfTest {
    static func cryptoVectorChecks() -> [Check] {
        [
            ("x25519 (RFC 7748 §5.2)", {
                let secret = SecretKey(copying: bytes("a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4"))
                guard let shared = try? X25519.sharedSecret(secret, bytes("e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c"))
                else { return "rejected the point" }
                return expect(shared.exportBytes(), "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552")
            }),
            ("chacha20 libsodium + SIMD (pyca vector, counter 7, 63 bytes)", {
                let key = bytes("277f00ae109ca469b8e49e426585dc4ec93edd4aef86dd9dd0c677e21e3d9245")
                let nonce = bytes("3cfc8d9421d2d44761c63bad")
                let plaintext = bytes("7819c11a386bbf68212b07ffc8fb2c16a8b7f188dc95c62a6609795f1a19efd97e386a63c47cc2d1e1a856c2e19f565ce80232364c0a77aaa175b1360956f6")
                let expected = "110271f4f74c8a99593d5fadd301be4506ae74b25bee6b81e5749c3e1e8d000cb6ddbf821f5d591295239e6c83bfdd2f367b712c7cfcc3fe19f1731f3e39c7"
                return expect(ChaCha20Sodium.xor(key: key, nonce: nonce, counter: 7, plaintext), expected)
                    ?? expect(ChaCha20SIMD.xor(key: key, nonce: nonce, counter: 7, plaintext), expected)
            }),
            ("chacha20-poly1305 IETF seal and open (pyca vector)", {
                let key = bytes("1d148392a28f1a4282d7881aff1702dff5e05b940984cea9fb689d8014cd8bfe")
                let nonce = bytes("5d2b65ef23e1dd69818610b1"), ad = bytes("1022f12023d4a9")
                let plaintext = bytes("65a1edb57a595661c79f7ec199bf2fb4")
                let sealed = ChaChaPoly.seal(key: key, nonce: nonce, ad: ad, plaintext)
                if let problem = expect(sealed, "eb910bd5a04fcaf59e1f006078e61363cad8acc7dd5962a53f49989549b43d6c") {
                    return problem
                }
                var forged = sealed
                forged[0] ^= 1
                if (try? ChaChaPoly.open(key: key, nonce: nonce, ad: ad, forged)) != nil { return "accepted a forgery" }
                return (try? ChaChaPoly.open(key: key, nonce: nonce, ad: ad, sealed)) == plaintext ? nil : "open failed"
            }),
            ("poly1305 (RFC 8439 §2.5.2)", {
                expect(Poly1305.tag(key: bytes("85d6be7857556d337f4452fe42d506a80103808afb0db2fd4abff6af4149f51b"),
                                    Array("Cryptographic Forum Research Group".utf8)),
                       "a8061dc1305136c6c22b8baf0c0127a9")
            }),
            ("hkdf-sha256 (RFC 5869 A.1)", {
                guard let okm = try? HKDF.derive(salt: bytes("000102030405060708090a0b0c"),
                                                 ikm: [UInt8](repeating: 0x0b, count: 22),
                                                 info: bytes("f0f1f2f3f4f5f6f7f8f9"), count: 42) else { return "threw" }
                return expect(okm, "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865")
            }),
            ("hmac-sha512 (RFC 4231 case 2)", {
                expect(HMACSHA512.authenticate(key: Array("Jefe".utf8), Array("what do ya want for nothing?".utf8)),
                       "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737")
            }),
            ("aes-256 bitsliced, both ways (FIPS-197 C.3)", {
                let key = bytes("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")
                return expect(AES256.encrypt(key: key, bytes("00112233445566778899aabbccddeeff")), "8ea2b7ca516745bfeafc49904b496089")
                    ?? expect(AES256.decrypt(key: key, bytes("8ea2b7ca516745bfeafc49904b496089")), "00112233445566778899aabbccddeeff")
            }),
            ("hchacha12 + xchacha12 SIMD (adiantum.json)", {
                var subkey = [UInt8](repeating: 0, count: 32)
                let key = bytes("1fcb7ca28ba69611d1523902c1292d9c550239b6e3f008c42bb9016334b20aeb")
                let nonce = bytes("b6c313261a52f0afd1bd3d059c57bddf")
                key.withUnsafeBytes { k in nonce.withUnsafeBytes { n in subkey.withUnsafeMutableBytes { o in
                    HChaCha12.subkey(key: k.baseAddress!, nonce: n.baseAddress!, into: o.baseAddress!)
                } } }
                return expect(subkey, "8b02ec3017b3ad1ce855a0153493930efb670a3673a9df38c0a8daf09aef429c")
                    ?? expect(XChaCha12.xor(key: bytes("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"),
                                            nonce: bytes("000102030405060708090a0b0c0d0e0f1011121314151617"),
                                            [UInt8](repeating: 0, count: 64)),
                              Self.xchacha12Block0)
            }),
            ("adiantum xchacha12/aes, both ways (Linux kernel vector 1, 31 bytes)", {
                let key = bytes("362b5797f85dcd995f1a5a441d920f27cc16d72b856399d3ba96a1dbd26068da")
                let tweak = bytes("ef5869b12c5e9a4724c1b169e112938f433d6d00db5ed8d9129afed9ff2daac4")
                let plain = "5ea8681985981223260accdb0a04b9df4db3487bb0e3c819435a4606942df2"
                let cipher = "c7c6f1738fc4ff4a39be78be8d28c8894663e70c7d87e84ec9187bbe186050"
                return expect(Adiantum.encrypt(key: key, tweak: tweak, bytes(plain)), cipher)
                    ?? expect(Adiantum.decrypt(key: key, tweak: tweak, bytes(cipher)), plain)
            }),
            ("adiantum, 512 bytes: NH's SIMD loop (adiantum.json, BLAKE2b-256 of the ciphertext)", {
                let zeros = [UInt8](repeating: 0, count: 32)
                let cipher = Adiantum.encrypt(key: zeros, tweak: zeros, [UInt8](repeating: 0, count: 512))
                if Adiantum.decrypt(key: zeros, tweak: zeros, cipher) != [UInt8](repeating: 0, count: 512) { return "does not decrypt" }
                return expect(BLAKE2b.hash(cipher, outputCount: 32),
                              "91e6960f47f899d5fe221bcec171121677a37a3a32acbdbade599f40b54d2c01")
            }),
            ("keyed blake2b-256 and -512 (hashlib vector)", {
                let key = bytes("2f3a106b4c903a90a309662c3ee289a200f59d83b4e5e375c4bf875e17c7e453")
                return expect(BLAKE2b.hash(key: key, [0x5f], outputCount: 32),
                              "11e42843b0d8651710a0679242162d5c6385ba81fdd17d131c165963859de29d")
                    ?? expect(BLAKE2b.hash(key: key, [0x5f], outputCount: 64),
                              "051c2a90cf49a7cb90ac12cbb9631b6a2c57694e03d3c2847fd657fc36143fa54fec9a80b3ccedb6838228713a9ed773728bb12615d38552e95dd2fbeeda34d7")
            }),
        ]
    }

    /// adiantum.json, xchacha12 "key 00..1f, nonce 00..17": keystream block 0.
    static let xchacha12Block0 = "60bdbcfb13471492e573e1ec837f739a6f5e41cf916bdcd8e8a682166b51d4b2"
        + "dd8be22c8541bb8eb3300e92b39cf03246afd096196a7ce5c22dd43c97eac91a"
}
