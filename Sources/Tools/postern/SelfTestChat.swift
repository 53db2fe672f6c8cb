import PosternChat
import PosternCrypto

/// Chat checks: the EIP-1581 chat key from a BIP32 vector, a secp256k1 recoverable signature over a
/// Keccak-256 digest, and anonymous posts recognised by a second device of the same seed only.
extension SelfTest {
    static func chatChecks() -> [Check] {
        [("chat: EIP-1581 key (BIP32 vector), keccak-256, anonymous posts recognised across devices", chatRoundTrip),
         ("chat sessions: recognised across devices, revealed publicly and privately", chatSessions)]
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

    static func chatSessions() -> String? {
        let phrase = BIP39.newPhrase()
        guard let laptop = try? ChatIdentity(phrase: phrase), let phone = try? ChatIdentity(phrase: phrase),
              let stranger = try? ChatIdentity(phrase: BIP39.newPhrase()) else { return "identity failed" }
        let session = laptop.session(chat: "c", rotation: 3)
        guard let post = try? laptop.post("hi", chatID: "c", clock: 1, timestamp: 1, session: session),
              let reveal = try? laptop.revealPost(session: session, clock: 2, timestamp: 2) else { return "post failed" }
        guard (try? phone.classify(post.bytes))?.authorship == .mineSession(rotation: 3) else { return "not recognised by the other device" }
        guard (try? stranger.classify(post.bytes))?.authorship == .named(author: session.publicKey) else { return "stranger saw more than a pseudonym" }
        guard (try? stranger.classify(reveal.bytes))?.authorship == .revealed(session: session.publicKey, owner: .chatKey(laptop.chatPublic))
        else { return "public reveal not accepted" }
        let contactKey = Random.bytes(32)
        guard let statement = try? laptop.privateReveal(session, to: contactKey),
              (try? stranger.learn(reveal: statement, inChat: "c", ownContactKey: contactKey)) != nil,
              (try? stranger.learn(reveal: statement, inChat: "c", ownContactKey: Random.bytes(32))) == nil
        else { return "private reveal not bound to its recipient" }
        return nil
    }
}
