import PosternChat
import PosternClient
import PosternCover
import PosternCrypto
import PosternNode
import PosternRatchet
import PosternSystem

/// Configuration and key files a person edits: the node's and the client's config, the node's key file,
/// and the line format under both. The same text goes to every parser.
func configTarget() -> FuzzTarget {
    FuzzTarget(name: "config", summary: "NodeConfig(text:), ClientConfig(text:path:), NodeSecrets.parse and ConfigFile on the same text",
               seeds: {
        let node = "[node]\nrole = \"gateway\"\nlisten = \"127.0.0.2:7000\"\nclient_listen = \"127.0.0.2:7100\"\ndata_dir = \"/var/lib/postern\"\n"
            + "[mailbox]\nbyte_cap_mb = 64\n# map_size_mb = 256\n[network]\nepoch_seconds = 3600\nlayers = 3\nmax_hops = 5\npayload_bytes = 2048\n"
        let client = "[network]\ngateway = \"127.0.0.1:7100#" + String(repeating: "ab", count: 32) + "\"\nmean_delay_ms = 50\n[cover]\nenabled = true\nbytes_per_day_mb = 300\n"
        let keys = NodeSecrets(identitySeed: Bytes32([UInt8](repeating: 1, count: 32))!, linkSecret: Bytes32([UInt8](repeating: 2, count: 32))!).fileText
        return [node, client, keys].map { Array($0.utf8) }
    }, run: { input in
        let text = String(decoding: input, as: UTF8.self)
        _ = try? NodeConfig(text: text)
        _ = try? ClientConfig(text: text, path: "fuzz.toml")
        if let (secrets, _) = NodeSecrets.parse(text) {
            Fuzz.require(NodeSecrets.parse(secrets.fileText)?.secrets.id == secrets.id, "key file does not round-trip")
        }
        _ = try? ConfigFile(text: text)
    })
}

/// Contact bundles, typed or scanned by a person.
func contactTarget() -> FuzzTarget {
    FuzzTarget(name: "contact", summary: "ContactBundle(text:); what parses re-encodes to a bundle that parses to the same keys",
               seeds: {
        [Array(ContactSecret(secret: Bytes32([UInt8](repeating: 7, count: 32))!, gateway: Bytes32([UInt8](repeating: 8, count: 32))!).bundle.text.utf8)]
    }, run: { input in
        guard let bundle = try? ContactBundle(text: String(decoding: input, as: UTF8.self)) else { return }
        Fuzz.require((try? ContactBundle(text: bundle.text)) == bundle, "contact bundle does not round-trip")
    })
}

/// Public-chat posts as readers fetch them (anyone can post): protobuf, signature, field 20. Mode 0: the
/// bytes as a wrapped message; 1: the bytes as a ChatMessage payload the harness signs, so field 20 and
/// everything after the signature is reached; 2: ChatMessage decoding alone (decode, encode, decode agree);
/// 3: the identity file's form (`IdentityFile.contents`).
func chatTarget() -> FuzzTarget {
    final class Keys {
        nonisolated(unsafe) static let shared = Keys()
        let identity = try! ChatIdentity(seed: [UInt8](repeating: 0x5a, count: 64))
        let signer = [UInt8](repeating: 0x3c, count: 32)
    }
    return FuzzTarget(name: "chat", summary: "ChatIdentity.classify of posts (wrapped, re-signed by the harness), ChatMessage decoding (round trip), session reveal/link statements, queries and session books",
                      seeds: {
        let k = Keys.shared
        var seeds: [[UInt8]] = []
        for mode in [PostMode.named, .derived, .signedRandom, .keyless] {
            if let post = try? k.identity.post("hello", chatID: "fuzz", clock: 1, timestamp: 2, mode: mode) {
                seeds.append([0] + post.bytes)
                if let w = try? WrappedMessage(decoding: post.bytes) { seeds.append([1] + w.payload); seeds.append([2] + w.payload) }
                if mode == .named, let file = try? IdentityFile.seal(seed: [UInt8](repeating: 0x5a, count: 64), passphrase: [1]) { seeds.append([3] + file) }
            }
        }
        let s0 = k.identity.session(chat: "fuzz", rotation: 0), s1 = k.identity.session(chat: "fuzz", rotation: 1)
        if let r = try? k.identity.revealStatement(s0) { seeds.append([4] + r) }
        if let r = try? k.identity.privateReveal(s0, to: [UInt8](repeating: 7, count: 32)) { seeds.append([4] + r) }
        if let l = try? k.identity.linkStatement(from: s0, to: s1, for: [UInt8](repeating: 7, count: 32)) { seeds.append([5] + l) }
        seeds.append([6] + SessionQuery(chatID: "fuzz", seen: [s0.publicKey, s1.publicKey]).encoded)
        var book = SessionBook()
        _ = try? book.rotate("fuzz", burn: true)
        book.keep(SessionBook.Received(chat: "fuzz", from: "bob", ownContactKey: [UInt8](repeating: 7, count: 32), statement: [1, 2]))
        seeds.append([7] + book.encoded)
        if let post = try? k.identity.revealPost(session: s0, clock: 1, timestamp: 1) { seeds.append([0] + post.bytes) }
        return seeds
    }, run: { input in
        let k = Keys.shared
        var f = FuzzInput(input)
        let mode = f.byte() % 8
        let bytes = f.rest
        switch mode {
        case 0:
            _ = try? k.identity.classify(bytes)
        case 3:
            // The identity file as read before the passphrase is asked for.
            if case .plain(let seed)? = try? IdentityFile.contents(bytes) { Fuzz.require(seed.count >= 16 && seed.count <= 64, "identity seed size") }
        case 1:
            guard let signature = Secp256k1.sign(digest: Keccak256.hash(bytes), secret: k.signer) else { return }
            do throws(ChatError) { _ = try k.identity.classify(WrappedMessage(signature: signature, payload: bytes).encoded) } catch {
                Fuzz.require(error != .badSignature, "a post the harness signed refused for its signature")
            }
        case 4:
            if let r = try? RevealStatement(verifying: bytes) { Fuzz.require(r.encoded == bytes, "reveal statement does not keep its bytes") }
        case 5:
            _ = try? LinkStatement(verifying: bytes)
        case 6:
            if let q = try? SessionQuery(decoding: bytes) { Fuzz.require(q.encoded == bytes, "session query does not round-trip") }
        case 7:
            if let book = try? SessionBook(decoding: bytes) {
                Fuzz.require((try? SessionBook(decoding: book.encoded)) == book, "session book does not round-trip")
            }
        default:
            guard let m = try? ChatMessage(decoding: bytes) else { return }
            Fuzz.require((try? ChatMessage(decoding: m.encoded)) == m, "chat message does not round-trip")
        }
    })
}

/// Profile records as read back from disk (after decryption: a damaged or hand-made profile): the mode
/// byte picks the record name. What decodes re-encodes to bytes that decode to the same encoding.
func profileTarget() -> FuzzTarget {
    FuzzTarget(name: "profile", summary: "every profile record's decoder (ProfileRecord.reencoded); decode, encode, decode agree",
               seeds: {
        // The records of two real profiles that met and exchanged a message (in a scratch directory).
        let base = (Process.environment("TMPDIR") ?? "/tmp") + "/postern-fuzz-seeds-\(Process.id)"
        defer { try? Files.removeTree(base) }
        guard let alice = try? Profile.create(directory: base + "/a", passphrase: Array("a".utf8)),
              let bob = try? Profile.create(directory: base + "/b", passphrase: Array("b".utf8)) else { return [] }
        defer { alice.close(); bob.close() }
        let gateway = Bytes32([UInt8](repeating: 4, count: 32))!, now: Int64 = 1_700_000_000
        try? alice.save(ProfileSettings(gateway: gateway, createdAt: now))
        try? bob.save(ProfileSettings(gateway: gateway, createdAt: now))
        _ = try? alice.newBundle(for: "carol", now: now)
        try? alice.meet(bob, calling: "bob", calledBy: "alice", now: now)
        if let c = try? alice.conversation("bob"), let sent = try? alice.queue(Array("hi".utf8), to: "bob", conversation: c, now: now),
           let d = try? bob.conversation("alice"), let text = try? d.receive(RatchetMessage(address: sent.address, ciphertext: sent.ciphertext)) {
            _ = try? bob.received(text, from: "alice", conversation: d, now: now)
        }
        try? alice.save(coverSpent: CoverSpend(day: 19_700, bytes: 123_456))
        var counts = UsageCounts()
        counts.add(.messages, up: 2663, down: 22)
        try? alice.record(usage: counts, day: 19_700)
        var seeds: [[UInt8]] = []
        for (i, name) in ProfileRecord.names.enumerated() {
            for p in [alice, bob] {
                if let bytes = try? p.get(name == "state/NAME" ? (p === alice ? "state/bob" : "state/alice") : name) { seeds.append([UInt8(i)] + bytes) }
            }
        }
        return seeds
    }, run: { input in
        var f = FuzzInput(input)
        let name = ProfileRecord.names[Int(f.byte()) % ProfileRecord.names.count]
        guard let once = ProfileRecord.reencoded(name, f.rest) else { return }
        Fuzz.require(ProfileRecord.reencoded(name, once) == once, "profile record \(name) does not round-trip")
    })
}

/// Ratchet messages from anyone who knows a mailbox address, and ratchet states from disk. Mode 0: a
/// stored state (then a send, which must not trap); 1: a message to one of the addresses a
/// conversation watches (the next byte picks which).
func ratchetTarget() -> FuzzTarget {
    final class Pair {
        nonisolated(unsafe) static let shared = Pair()
        let alice: Conversation
        let bobState: [UInt8]
        init() {
            let gateway = Bytes32([UInt8](repeating: 9, count: 32))!
            let a = ContactSecret(secret: Bytes32([UInt8](repeating: 1, count: 32))!, gateway: gateway)
            let b = ContactSecret(secret: Bytes32([UInt8](repeating: 2, count: 32))!, gateway: gateway)
            alice = try! Conversation(ours: a, theirs: b.bundle)
            bobState = try! Conversation(ours: b, theirs: a.bundle).serialized()
        }
    }
    return FuzzTarget(name: "ratchet", summary: "Conversation(serialized:) then send; Conversation.receive of a message at a watched address",
                      seeds: {
        let p = Pair.shared
        var seeds: [[UInt8]] = [[0] + p.bobState]
        let bob = try! Conversation(serialized: p.bobState)
        for i in 0..<3 {
            let m = p.alice.send(Array("message \(i)".utf8))
            if let at = bob.watchedAddresses().firstIndex(of: m.address) { seeds.append([1, UInt8(at)] + m.ciphertext) }
        }
        return seeds
    }, run: { input in
        let p = Pair.shared
        var f = FuzzInput(input)
        if f.byte() % 2 == 0 {
            guard let c = try? Conversation(serialized: f.rest) else { return }
            _ = c.send([1, 2, 3])
            Fuzz.require((try? Conversation(serialized: c.serialized())) != nil, "a state after a send does not load")
        } else {
            let bob = try! Conversation(serialized: p.bobState)
            let watched = bob.watchedAddresses()
            let address = watched[Int(f.byte()) % watched.count]
            _ = try? bob.receive(RatchetMessage(address: address, ciphertext: f.rest))
        }
    })
}
