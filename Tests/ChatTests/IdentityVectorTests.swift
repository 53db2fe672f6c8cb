import Foundation
@testable import PosternChat
import PosternCrypto
import Testing

enum Vectors {
    static func load(_ name: String) throws -> [[String: String]] {
        let url = try #require(Bundle.module.url(forResource: name, withExtension: "json", subdirectory: "Vectors"))
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any]
        return try #require(object?["vectors"] as? [[String: String]])
    }
}

/// Every vector in keccak256.json, bip39.json, bip32.json (incl. EIP-1581 paths) and secp256k1.json.
@Suite struct IdentityVectorTests {
    @Test func keccak256() throws {
        let cases = try Vectors.load("keccak256")
        #expect(cases.count == 11)
        for v in cases { #expect(Hex.encode(Keccak256.hash(Hex.decode(v["msg"]!)!)) == v["keccak256"]) }
    }

    @Test func wordlistIsBIP39English() {
        #expect(Hex.encode(SHA2.sha256(Array(BIP39.wordlistText.utf8))) == "2f5eed53a4727b4bf8880d8f3f199efc90e58503646d9ff8eff3a2ed3b24dbda")
        #expect(BIP39.words.count == 2048)
    }

    @Test func bip39() throws {
        let cases = try Vectors.load("bip39")
        #expect(cases.count == 8)
        for v in cases {
            let words = v["mnemonic"]!.split(separator: " ").map(String.init)
            #expect(BIP39.phrase(entropy: Hex.decode(v["entropy"]!)!) == words)
            #expect(try BIP39.entropy(words) == Hex.decode(v["entropy"]!)!)
            #expect(Hex.encode(try BIP39.seed(phrase: words, passphrase: v["passphrase"]!)) == v["seed"])
        }
    }

    @Test func bip39Errors() {
        var words = BIP39.phrase(entropy: [UInt8](repeating: 0, count: 16))
        #expect(throws: SeedError.badLength(11)) { try BIP39.entropy(Array(words.dropLast())) }
        words[3] = "notaword"
        #expect(throws: SeedError.unknownWord("notaword")) { try BIP39.entropy(words) }
        words[3] = "zoo"
        #expect(throws: SeedError.badChecksum) { try BIP39.entropy(words) }
    }

    @Test func bip32() throws {
        let cases = try Vectors.load("bip32")
        #expect(cases.count == 42)
        #expect(cases.contains { $0["path"]!.hasPrefix("m/43'/60'/1581'") })
        for v in cases {
            let key = try ExtendedKey(seed: Hex.decode(v["seed"]!)!).derive(v["path"]!)
            #expect(Hex.encode(key.secret) == v["privkey"], "\(v["path"]!)")
            #expect(Hex.encode(key.publicKey) == v["pubkey_compressed"])
            #expect(key.xprv == v["xprv"])
            #expect(key.xpub == v["xpub"])
        }
        #expect(throws: SeedError.badPath("x/1")) { try ExtendedKey(seed: [UInt8](repeating: 1, count: 16)).derive("x/1") }
    }

    /// A path is "m" and then "/" and a decimal index per level ("'" or "h" for hardened); empty levels,
    /// anything before "m", signs and spaces are refused (each used to be accepted: "m//1" as m/1).
    @Test func malformedDerivationPathsAreRefused() throws {
        let master = try ExtendedKey(seed: [UInt8](repeating: 1, count: 16))
        for path in ["m//1", "m/0/", "/m/1", "m/+5", "m/-1", "m/ 1", "m/1''", "m/'", "m/0x1", "M/1", ""] {
            #expect(throws: SeedError.badPath(path)) { try master.derive(path) }
        }
        #expect(try master.derive("m").secret == master.secret)
        #expect(try master.derive("m/0'/1h/2").secret == master.derive("m/0h/1'/2").secret)
    }

    @Test func secp256k1RecoverableSignatures() throws {
        let cases = try Vectors.load("secp256k1")
        #expect(cases.count == 6)
        for v in cases {
            let secret = Hex.decode(v["privkey"]!)!, payload = Hex.decode(v["payload"]!)!
            let digest = Keccak256.hash(payload)
            #expect(Hex.encode(digest) == v["keccak256"])
            #expect(Secp256k1.publicKey(secret).map(Hex.encode) == v["pubkey_compressed"])
            #expect(Secp256k1.publicKey(secret, compressed: false).map(Hex.encode) == v["pubkey_uncompressed"])
            let signature = try #require(Secp256k1.sign(digest: digest, secret: secret))
            #expect(Hex.encode(signature) == v["signature_rsv"])
            #expect(Secp256k1.recover(digest: digest, signature: signature).map(Hex.encode) == v["pubkey_uncompressed"])
        }
    }

    @Test func ripemd160() {
        // Published test values (Dobbertin, Bosselaers, Preneel).
        #expect(Hex.encode(RIPEMD160.hash([])) == "9c1185a5c5e9fc54612808977ee8f548b2258d31")
        #expect(Hex.encode(RIPEMD160.hash(Array("abc".utf8))) == "8eb208f7e05d987a9b044a8e98c6b087f15a0bfc")
        #expect(Hex.encode(RIPEMD160.hash(Array("message digest".utf8))) == "5d0689ef49d2fae572b881b123a85ffa21595f36")
    }
}
