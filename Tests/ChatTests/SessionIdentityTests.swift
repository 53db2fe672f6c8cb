@testable import PosternChat
import PosternCrypto
import Testing

/// Session identities (docs/CHAT.md, "Sessions"): derived per chat and rotation from the phrase,
/// recognised by every device of the phrase, unlinkable for everyone else, revealed by signed statements.
@Suite struct SessionIdentityTests {
    @Test func anotherDeviceRecognisesEverySessionAndPost() throws {
        let d = try Devices()
        for chat in ["lobby", "status", "ünïcode chat"] {
            for rotation: UInt32 in [0, 1, 5, ChatIdentity.sessionWindow - 1] {
                let s = d.laptop.session(chat: chat, rotation: rotation)
                #expect(d.phone.session(chat: chat, rotation: rotation) == s)
                let post = try d.laptop.post("hi from \(rotation)", chatID: chat, clock: 1, timestamp: 1, session: s)
                #expect(try d.phone.classify(post.bytes).authorship == .mineSession(rotation: rotation))
                #expect(try d.laptop.classify(post.bytes).authorship == .mineSession(rotation: rotation))
                // Others see a named post by the session's key: one consistent pseudonym, nobody's chat key.
                #expect(try d.stranger.classify(post.bytes).authorship == .named(author: s.publicKey))
            }
        }
    }

    @Test func aSessionSignsOnlyInItsOwnChat() throws {
        let d = try Devices()
        let s = d.laptop.session(chat: "lobby", rotation: 0)
        #expect(throws: ChatError.self) { try d.laptop.post("x", chatID: "other", clock: 1, timestamp: 1, session: s) }
        // A lobby session's key signing in another chat is not recognised as ours there.
        var message = ChatMessage(clock: 1, timestamp: 1, text: "x", chatID: "other")
        message.chatID = "other"
        let moved = try d.laptop.sign(message, with: s.secret)
        #expect(try d.phone.classify(moved.bytes).authorship == .named(author: s.publicKey))
    }

    /// Structural: no session key equals another, the chat key or another seed's; a post under one
    /// session shares no 8-byte window with a post under another beyond what a stranger's posts share.
    /// Statistical: across 128 sessions the keys' bits are balanced and pairwise distances sit near half.
    @Test func sessionsCannotBeLinked() throws {
        let d = try Devices()
        var keys: [[UInt8]] = []
        for chat in ["a", "b", "c", "d"] {
            for rotation in 0..<UInt32(32) { keys.append(Array(d.laptop.session(chat: chat, rotation: rotation).publicKey.dropFirst())) }
        }
        #expect(Set(keys).count == keys.count)
        #expect(!keys.contains(Array(d.laptop.chatPublic.dropFirst())))
        #expect(!keys.contains(Array(d.stranger.session(chat: "a", rotation: 0).publicKey.dropFirst())))
        func bits(_ x: [UInt8]) -> Int { x.reduce(0) { $0 + $1.nonzeroBitCount } }
        let ones = keys.reduce(0) { $0 + bits($1) }, total = keys.count * 64 * 8
        #expect(abs(Double(ones) / Double(total) - 0.5) < 0.02)       // 65 536 bits: σ ≈ 0.002
        var distances: [Int] = []
        for i in 0..<(keys.count - 1) { distances.append(bits(zip(keys[i], keys[i + 1]).map { $0 ^ $1 })) }
        let mean = Double(distances.reduce(0, +)) / Double(distances.count)
        #expect(abs(mean - 256) < 12)                                   // 512 bits: σ per pair ≈ 11, of the mean ≈ 1

        func windows(_ x: [UInt8]) -> Set<[UInt8]> { Set((0...(x.count - 8)).map { Array(x[$0..<($0 + 8)]) }) }
        let a = try d.laptop.post("first words", chatID: "pub", clock: 10, timestamp: 10,
                                  session: d.laptop.session(chat: "pub", rotation: 0)).bytes
        let b = try d.laptop.post("first words", chatID: "pub", clock: 10, timestamp: 10,
                                  session: d.laptop.session(chat: "pub", rotation: 1)).bytes
        // What any author's posts share: protobuf structure, the text, and the signature's recovery byte,
        // which is 0 or 1 at random, so the stranger posts enough times to show both (miss: 2⁻¹⁵).
        var common = Set<[UInt8]>()
        for rotation in 0..<UInt32(16) {
            common.formUnion(windows(try d.stranger.post("first words", chatID: "pub", clock: 10, timestamp: 10,
                                                         session: d.stranger.session(chat: "pub", rotation: rotation)).bytes))
        }
        #expect(windows(a).intersection(windows(b)).subtracting(common).isEmpty)
    }

    @Test func publicRevealVerifiesForEveryone() throws {
        let d = try Devices()
        let s = d.laptop.session(chat: "lobby", rotation: 2)
        let post = try d.laptop.post("before the reveal", chatID: "lobby", clock: 1, timestamp: 1, session: s)
        #expect(try d.stranger.classify(post.bytes).authorship == .named(author: s.publicKey))
        let reveal = try d.laptop.revealPost(session: s, clock: 2, timestamp: 2)
        #expect(try d.stranger.classify(reveal.bytes).authorship == .revealed(session: s.publicKey, owner: .chatKey(d.laptop.chatPublic)))
        // From then on the stranger sees every post of that session (and only that one) as revealed.
        #expect(try d.stranger.classify(post.bytes).authorship == .revealed(session: s.publicKey, owner: .chatKey(d.laptop.chatPublic)))
        let other = try d.laptop.post("other session", chatID: "lobby", clock: 3, timestamp: 3,
                                      session: d.laptop.session(chat: "lobby", rotation: 3))
        #expect(try d.stranger.classify(other.bytes).authorship == .named(author: d.laptop.session(chat: "lobby", rotation: 3).publicKey))
        #expect(try d.phone.classify(reveal.bytes).authorship == .mineSession(rotation: 2))
    }

    @Test func forgedAndReplayedRevealsAreRefused() throws {
        let d = try Devices()
        let s = d.laptop.session(chat: "lobby", rotation: 0)
        let statement = try d.laptop.revealStatement(s)
        #expect(try RevealStatement(verifying: statement).chatKey == d.laptop.chatPublic)
        // Any flipped bit: refused (bad signature or malformed), never accepted.
        for i in stride(from: 0, to: statement.count, by: 7) {
            var forged = statement
            forged[i] ^= 0x04
            #expect(throws: ChatError.self) { try RevealStatement(verifying: forged) }
        }
        // Someone claiming another person's session: the session signature cannot be made.
        let victim = d.stranger.session(chat: "lobby", rotation: 0)
        var claim = statement
        claim.replaceSubrange((RevealStatement.publicPrefix.count + 2 + 5)..<(RevealStatement.publicPrefix.count + 2 + 5 + 65),
                              with: victim.publicKey)
        #expect(throws: ChatError.badSignature) { try RevealStatement(verifying: claim) }
        // Replayed into another chat: refused.
        var elsewhere = ChatMessage(clock: 1, timestamp: 1, text: "", chatID: "other")
        elsewhere.reveal = statement
        let replayed = try d.laptop.sign(elsewhere, with: s.secret)
        #expect(throws: ChatError.self) { try d.stranger.classify(replayed.bytes) }
        // Reposted in the same chat by someone else's key: refused as tampered.
        var repost = ChatMessage(clock: 1, timestamp: 1, text: "look who this is", chatID: "lobby")
        repost.reveal = statement
        let byStranger = try d.stranger.sign(repost, with: d.stranger.session(chat: "lobby", rotation: 0).secret)
        #expect(throws: ChatError.tampered) { try d.phone.classify(byStranger.bytes) }
        // and a refused post teaches its reader nothing.
        let reader = try ChatIdentity(phrase: BIP39.newPhrase())
        #expect(throws: ChatError.tampered) { try reader.classify(byStranger.bytes) }
        #expect(reader.revealed[s.publicKey] == nil)
    }

    @Test func aPostCarryingABrokenRevealIsRefusedForTheRevealNotItsSignature() throws {
        // The post's own signature is good; the statement inside it is not. A reader (and the fuzz
        // harness) must be able to tell the two apart.
        let d = try Devices()
        let s = d.laptop.session(chat: "lobby", rotation: 0)
        var statement = try d.laptop.revealStatement(s)
        statement[statement.count - 70] ^= 0x01
        var post = ChatMessage(clock: 1, timestamp: 1, text: "it is me", chatID: "lobby")
        post.reveal = statement
        let signed = try d.laptop.sign(post, with: s.secret)
        #expect(throws: ChatError.badReveal) { try d.stranger.classify(signed.bytes) }
        #expect(d.stranger.revealed[s.publicKey] == nil)
    }

    @Test func privateRevealReachesOnlyItsRecipient() throws {
        let d = try Devices()
        let s = d.laptop.session(chat: "lobby", rotation: 1)
        let bob = Random.bytes(32), carol = Random.bytes(32)
        let statement = try d.laptop.privateReveal(s, to: bob)
        let bobs = try d.stranger.learn(reveal: statement, inChat: "lobby", ownContactKey: bob, from: "alice")
        #expect(bobs.sessionKey == s.publicKey && bobs.chatKey == nil)
        let post = try d.laptop.post("hi", chatID: "lobby", clock: 1, timestamp: 1, session: s)
        #expect(try d.stranger.classify(post.bytes).authorship == .revealed(session: s.publicKey, owner: .contact("alice")))
        // Carol, handed Bob's statement, gets nothing from it; nor does a chat it is posted in.
        let carolView = try ChatIdentity(phrase: BIP39.newPhrase())
        #expect(throws: ChatError.self) { try carolView.learn(reveal: statement, inChat: "lobby", ownContactKey: carol) }
        var leaked = ChatMessage(clock: 1, timestamp: 1, text: "", chatID: "lobby")
        leaked.reveal = statement
        let leakedPost = try d.laptop.sign(leaked, with: s.secret)
        #expect(throws: ChatError.self) { try carolView.classify(leakedPost.bytes) }
        #expect(try carolView.classify(post.bytes).authorship == .named(author: s.publicKey))
    }

    /// Rotation linked for one contact: both sessions sign; the contact sees the new one continue the old
    /// one (or inherit its owner when that was revealed to them); nobody else, and no other chat, can use it.
    @Test func rotationLinkedForOneContact() throws {
        let d = try Devices()
        let old = d.laptop.session(chat: "lobby", rotation: 0), new = d.laptop.session(chat: "lobby", rotation: 1)
        let bob = Random.bytes(32)
        let link = try d.laptop.linkStatement(from: old, to: new, for: bob)
        let bobView = try ChatIdentity(phrase: BIP39.newPhrase())
        try bobView.learn(link: link, inChat: "lobby", ownContactKey: bob)
        let post = try d.laptop.post("later", chatID: "lobby", clock: 1, timestamp: 1, session: new)
        #expect(try bobView.classify(post.bytes).authorship == .revealed(session: new.publicKey, owner: .continues(old.publicKey)))
        #expect(try d.stranger.classify(post.bytes).authorship == .named(author: new.publicKey))
        #expect(throws: ChatError.self) { try d.stranger.learn(link: link, inChat: "lobby", ownContactKey: Random.bytes(32)) }
        #expect(throws: ChatError.self) { try bobView.learn(link: link, inChat: "other", ownContactKey: bob) }
        for i in stride(from: 0, to: link.count, by: 11) {
            var forged = link
            forged[i] ^= 0x10
            #expect(throws: ChatError.self) { try LinkStatement(verifying: forged) }
        }
        // A link joins two sessions of one chat only.
        #expect(throws: ChatError.self) { try d.laptop.linkStatement(from: old, to: d.laptop.session(chat: "other", rotation: 1), for: bob) }
        // Told privately who the old one is, Bob sees the new one as the same person's.
        let carolKey = Random.bytes(32), carol = try ChatIdentity(phrase: BIP39.newPhrase())
        try carol.learn(reveal: try d.laptop.privateReveal(old, to: carolKey), inChat: "lobby", ownContactKey: carolKey, from: "alice")
        try carol.learn(link: try d.laptop.linkStatement(from: old, to: new, for: carolKey), inChat: "lobby", ownContactKey: carolKey)
        #expect(try carol.classify(post.bytes).authorship == .revealed(session: new.publicKey, owner: .contact("alice")))
    }

    @Test func queryIsAnsweredOnlyForOwnSessionsInTheNamedChat() throws {
        let d = try Devices()
        let mine0 = d.laptop.session(chat: "lobby", rotation: 0), mine4 = d.laptop.session(chat: "lobby", rotation: 4)
        let theirs = d.stranger.session(chat: "lobby", rotation: 0)
        let query = SessionQuery(chatID: "lobby", seen: [theirs.publicKey, mine0.publicKey, mine4.publicKey])
        #expect(try SessionQuery(decoding: query.encoded) == query)
        let bob = Random.bytes(32)
        let answer = try d.phone.answer(try SessionQuery(decoding: query.encoded), to: bob, withhold: [4])
        #expect(answer.count == 1)
        #expect(try RevealStatement(verifying: answer[0]).sessionKey == mine0.publicKey)
        #expect(try d.phone.answer(SessionQuery(chatID: "elsewhere", seen: [mine0.publicKey]), to: bob).isEmpty)
        var truncated = query.encoded
        truncated.removeLast()
        #expect(throws: ChatError.self) { try SessionQuery(decoding: truncated) }
    }

    /// The device's session book: sealed under the seed, refused whole when damaged or from another seed.
    @Test func sessionBookRoundTripsSealedAndRefusesDamage() throws {
        let d = try Devices()
        var book = SessionBook()
        #expect(book.current("lobby") == 0)
        #expect(try book.rotate("lobby", burn: true) == 1)
        #expect(try book.rotate("lobby", burn: false) == 2)
        book.notice("other", rotation: 3)
        book.notice("other", rotation: 1)          // never back to an older rotation
        book.keep(SessionBook.Received(chat: "lobby", from: "bob", ownContactKey: Random.bytes(32), statement: [1, 2, 3]))
        #expect(book.chats["lobby"] == SessionBook.Entry(current: 2, burned: [0]))
        #expect(book.chats["other"]?.current == 3)
        let file = book.sealed(for: d.laptop)
        #expect(try SessionBook(file: file, for: d.phone) == book)
        #expect(!String(decoding: file, as: UTF8.self).contains(Hex.encode(Array("lobby".utf8))))
        #expect(throws: ChatError.self) { try SessionBook(file: file, for: d.stranger) }
        for cut in [2, 10, file.count / 2] {   // (1 would only drop the final newline)
            #expect(throws: ChatError.self) { try SessionBook(file: Array(file.prefix(file.count - cut)), for: d.laptop) }
        }
        for cut in 1..<book.encoded.count {
            #expect(throws: ChatError.self) { try SessionBook(decoding: Array(book.encoded.prefix(cut))) }
        }
        var full = SessionBook()
        for _ in 0..<(ChatIdentity.sessionWindow - 1) { try full.rotate("busy", burn: false) }
        #expect(throws: ChatError.self) { try full.rotate("busy", burn: false) }
    }
}
