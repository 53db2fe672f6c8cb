@testable import PosternChat
import PosternCrypto
import Testing

/// Two devices restored from one seed phrase, and a stranger with another seed.
struct Devices {
    let phrase = BIP39.newPhrase()
    let laptop: ChatIdentity, phone: ChatIdentity, stranger: ChatIdentity

    init() throws {
        laptop = try ChatIdentity(phrase: phrase)
        phone = try ChatIdentity(phrase: phrase)
        stranger = try ChatIdentity(phrase: BIP39.newPhrase())
    }
}

@Suite struct AnonymousMessageTests {
    @Test func chatKeyIsEIP1581Path() throws {
        let seed = Hex.decode("000102030405060708090a0b0c0d0e0f")!
        let identity = try ChatIdentity(seed: seed)
        let expected = try ExtendedKey(seed: seed).derive("m/43'/60'/1581'/0'/0").publicKey
        #expect(identity.chatKeyCompressed == expected)
    }

    @Test func classificationMatrix() throws {
        let d = try Devices()
        for mode in [PostMode.derived, .signedRandom, .keyless] {
            let post = try d.laptop.post("hello \(mode)", chatID: "pub", clock: 1, timestamp: 2, mode: mode)
            if let note = post.syncNote { #expect(d.phone.learn(syncNote: note)) }
            #expect(try d.laptop.classify(post.bytes).authorship == .mine(anonymous: true), "\(mode) on the posting device")
            #expect(try d.phone.classify(post.bytes).authorship == .mine(anonymous: true), "\(mode) on the other device")
            #expect(try d.stranger.classify(post.bytes).authorship == .anonymous, "\(mode) for a stranger")
            #expect(try d.phone.classify(post.bytes).message.text == "hello \(mode)")
        }
        let named = try d.laptop.post("openly", chatID: "pub", clock: 3, timestamp: 4, mode: .named)
        #expect(try d.phone.classify(named.bytes).authorship == .mine(anonymous: false))
        #expect(try d.stranger.classify(named.bytes).authorship == .named(author: d.laptop.chatPublic))
        // A stranger's sync note means nothing to us.
        let theirs = try d.stranger.post("x", chatID: "pub", clock: 1, timestamp: 1, mode: .keyless)
        #expect(!d.phone.learn(syncNote: theirs.syncNote!))
    }

    /// Field 20 copied onto another message signed by someone else: never "mine".
    @Test func replayedField20IsNotMine() throws {
        let d = try Devices()
        for mode in [PostMode.derived, .signedRandom] {
            let original = try d.laptop.post("original", chatID: "pub", clock: 1, timestamp: 1, mode: mode)
            let field20 = try ChatMessage(decoding: try WrappedMessage(decoding: original.bytes).payload).anonymous
            // The attacker signs their own text with their own key, carrying our field 20.
            var forged = ChatMessage(clock: 2, timestamp: 2, text: "forged", chatID: "pub", anonymous: field20)
            forged.anonymous = field20
            let attackerKey = ChatIdentity.randomSecret()
            let wrapped = try #require(WrappedMessage.sign(forged.encoded, secret: attackerKey)).encoded
            do {
                let result = try d.phone.classify(wrapped)
                #expect(result.authorship == .anonymous, "\(mode)")
            } catch {
                #expect(error == .tampered, "\(mode)")
            }
        }
    }

    /// Any change to the payload changes the recovered signer (or breaks the signature): not mine.
    @Test func modifiedPayloadIsNotMine() throws {
        let d = try Devices()
        for mode in [PostMode.derived, .signedRandom, .keyless, .named] {
            let post = try d.laptop.post("pay 10", chatID: "pub", clock: 1, timestamp: 1, mode: mode)
            if let note = post.syncNote { d.phone.learn(syncNote: note) }
            var wrapped = try WrappedMessage(decoding: post.bytes)
            var message = try ChatMessage(decoding: wrapped.payload)
            message.text = "pay 99"
            wrapped.payload = message.encoded
            let result = try? d.phone.classify(wrapped.encoded)
            #expect(result?.authorship != .mine(anonymous: true) && result?.authorship != .mine(anonymous: false), "\(mode)")
            #expect(result?.authorship != .named(author: d.laptop.chatPublic))
        }
    }

    @Test func badSignaturesAreRejected() throws {
        let d = try Devices()
        let post = try d.laptop.post("x", chatID: "pub", clock: 1, timestamp: 1, mode: .derived)
        var wrapped = try WrappedMessage(decoding: post.bytes)
        wrapped.signature[64] = 7   // invalid recovery id
        #expect(throws: ChatError.badSignature) { try d.phone.classify(wrapped.encoded) }
        wrapped.signature = [UInt8](repeating: 0, count: 65)
        #expect(throws: ChatError.badSignature) { try d.phone.classify(wrapped.encoded) }
        #expect(throws: ChatError.self) { try d.phone.classify([0x0a, 0x05, 1]) }   // truncated protobuf
    }

    /// A message from a device with a different seed is never "mine", whatever mode it uses.
    @Test func otherSeedNeverMine() throws {
        let d = try Devices()
        for mode in [PostMode.derived, .signedRandom, .keyless, .named] {
            let post = try d.stranger.post("hi", chatID: "pub", clock: 1, timestamp: 1, mode: mode)
            let result = try d.phone.classify(post.bytes).authorship
            #expect(result == .anonymous || result == .named(author: d.stranger.chatPublic))
        }
    }

    /// Two anonymous posts by the same sender share no linkable bytes: every 8-byte substring they have in
    /// common also appears in strangers' posts to the same chat (protobuf structure, chat id, mode tag, and
    /// the parity byte of a random ECIES key, which matches by chance half the time), so it tells nothing
    /// about who wrote them. Twelve stranger posts make a chance match of that parity byte negligible.
    @Test func anonymousPostsAreUnlinkable() throws {
        let d = try Devices()
        func windows(_ x: [UInt8]) -> Set<[UInt8]> { Set((0...(x.count - 8)).map { Array(x[$0..<($0 + 8)]) }) }
        for mode in [PostMode.derived, .signedRandom, .keyless] {
            let a = try d.laptop.post("first words", chatID: "pub", clock: 11, timestamp: 1_700_000_000, mode: mode).bytes
            let b = try d.laptop.post("other things", chatID: "pub", clock: 12, timestamp: 1_700_000_007, mode: mode).bytes
            var strangers = Set<[UInt8]>()
            for i in 0..<12 {
                strangers.formUnion(windows(try d.stranger.post("first words", chatID: "pub", clock: UInt64(11 + i),
                                                                timestamp: 1_700_000_003, mode: mode).bytes))
            }
            let linking = windows(a).intersection(windows(b)).subtracting(strangers)
            #expect(linking.isEmpty, "\(mode): \(linking.count) linking windows")
            #expect(try WrappedMessage(decoding: a).author != (try WrappedMessage(decoding: b).author))
        }
    }

    @Test func protobufSkipsUnknownAndRejectsMalformed() throws {
        var w = ProtoWriter()
        w.uint(1, 5)
        w.string(3, "text")
        w.data(99, [1, 2, 3])        // unknown length-delimited
        w.uint(100, 7)               // unknown varint
        w.bytes += [0x29] + [UInt8](repeating: 0, count: 8)   // field 5, fixed64
        let m = try ChatMessage(decoding: w.bytes)
        #expect(m.clock == 5 && m.text == "text")
        #expect(throws: ProtobufError.self) { try ChatMessage(decoding: [0x1a, 0x10, 0x41]) }      // length past end
        #expect(throws: ProtobufError.self) { try ChatMessage(decoding: [0x0b]) }                   // group
        #expect(throws: ProtobufError.self) { try ChatMessage(decoding: [0x08] + [UInt8](repeating: 0xff, count: 11)) }
        #expect(throws: ProtobufError.self) { try ChatMessage(decoding: [0x1a, 0x01, 0xff]) }       // bad UTF-8
    }

    /// A ten-byte varint carries bit 63 in its last byte and nothing else: 0x01 is 2^64 - 1 with nine
    /// 0xff before it, anything above overflows 64 bits and is refused, as Go's protowire (status-go's
    /// decoder) refuses it. The value used to be truncated: 2^64 + 5 read as 5.
    @Test func varintsPast64BitsAreRefused() throws {
        let max = try ChatMessage(decoding: [0x08] + [UInt8](repeating: 0xff, count: 9) + [0x01])
        #expect(max.clock == .max)
        for last: UInt8 in [0x02, 0x7f] {
            #expect(throws: ProtobufError.malformed("varint overflows 64 bits")) {
                try ChatMessage(decoding: [0x08] + [UInt8](repeating: 0xff, count: 9) + [last])
            }
        }
        // 2^64 + 5: 0x85, eight 0x80, 0x02.
        #expect(throws: ProtobufError.self) { try ChatMessage(decoding: [0x08, 0x85] + [UInt8](repeating: 0x80, count: 8) + [0x02]) }
    }

    @Test func eciesRoundTrip() {
        let secret = ChatIdentity.randomSecret(), other = ChatIdentity.randomSecret()
        let sealed = ECIES.encrypt(to: Secp256k1.publicKey(secret)!, Array("note".utf8))!
        #expect(ECIES.decrypt(secret: secret, sealed) == Array("note".utf8))
        #expect(ECIES.decrypt(secret: other, sealed) == nil)
        var tampered = sealed
        tampered[40] ^= 1
        #expect(ECIES.decrypt(secret: secret, tampered) == nil)
    }

    @Test func publicChatAddresses() {
        let a = PublicChat.address(chat: "postern", bucket: 100)
        #expect(a == PublicChat.address(chat: "postern", bucket: 100))
        #expect(a != PublicChat.address(chat: "postern", bucket: 101))
        #expect(a != PublicChat.address(chat: "other", bucket: 100))
    }
}
