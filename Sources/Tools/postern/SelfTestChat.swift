import PosternChat
import PosternCrypto

/// Chat checks: the EIP-1581 chat key from a BIP32 vector, a secp256k1 recoverable signature over a
/// Keccak-256 digest, and anonymous posts recognised by a second device of the same seed only.
extension SelfTest {
    static func chatChecks() -> [Check] {
        [("chat: EIP-1581 key (BIP32 vector), keccak-256, anonymous posts recognised across devices", chatRoundTrip)]
    }

    static func chatRoundTrip() -> String? {
        guard let key = try? ExtendedKey(seed: bytes("000102030405060708090a0b0c0d0e0f")).derive("m/43'/60'/1581'/0'/0")
        else { return "derivation failed" }
        if let problem = expect(key.publicKey, "034917d0cafa583f0c67b4fafbaa2dee95f66cc7abb30bb88ee86ca84783c49369") { return "EIP-1581 key: " + problem }
        if let problem = expect(Keccak256.hash([]), "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470") { return "keccak: " + problem }
        let phrase = BIP39.newPhrase()
        guard let laptop = try? ChatIdentity(phrase: phrase), let phone = try? ChatIdentity(phrase: phrase),
              let stranger = try? ChatIdentity(phrase: BIP39.newPhrase()) else { return "identity failed" }
        for mode in [PostMode.derived, .signedRandom, .keyless] {
            guard let post = try? laptop.post("hi", chatID: "c", clock: 1, timestamp: 1, mode: mode) else { return "post failed" }
            if let note = post.syncNote { phone.learn(syncNote: note) }
            guard (try? phone.classify(post.bytes))?.authorship == .mine(anonymous: true) else { return "\(mode): not recognised" }
            guard (try? stranger.classify(post.bytes))?.authorship == .anonymous else { return "\(mode): recognised by a stranger" }
        }
        return nil
    }
}
