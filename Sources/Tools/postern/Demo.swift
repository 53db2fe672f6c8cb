import PosternChat
import PosternClient
import PosternCrypto
import PosternLocalNetwork
import PosternNetwork
import PosternNode
import PosternPacket
import PosternRatchet
import PosternSystem

/// `postern demo`: a whole mixnet on loopback (3 mix layers and 2 gateways, each a real node with real
/// sockets and Noise links), and two people who exchange contact bundles and then message each other
/// through it with unlinkable addresses and the double ratchet, each fetching from their own gateway.
enum Demo {
    static let usage = """
    usage: postern demo [--messages N] [--delay-ms D] [--timeout S] [--verbose]
    A local mixnet and two people exchanging N messages (default 20) with mean delay D ms per hop (20),
    then a public chat; exit 0 only if everything arrives within S seconds (60).
    example: postern demo --messages 6
    """

    static func run(_ args: [String]) -> Int32 {
        var count = 20, delayMillis = 20.0, timeout = 60.0, verbose = false
        var rest = args[...]
        while let flag = rest.popFirst() {
            switch flag {
            case "--verbose": verbose = true
            case "--help", "-h":
                Terminal.line(usage)
                return 0
            case "--messages", "--delay-ms", "--timeout":
                guard let text = rest.popFirst(), let value = Int(text), value > 0 else {
                    Terminal.error("postern demo: \(flag) needs a positive whole number")
                    return 2
                }
                if flag == "--messages" { count = value } else if flag == "--delay-ms" { delayMillis = Double(value) } else { timeout = Double(value) }
            default:
                Terminal.error("postern demo: unknown option '\(flag)'\n\(usage)")
                return 2
            }
        }
        let dataDirectory = (Process.environment("TMPDIR") ?? "/tmp") + "/postern-demo-\(Process.id)"
        defer { removeTree(dataDirectory) }

        Terminal.line("Postern demo: a local mixnet with 3 mix layers and 2 gateways on 127.0.0.1")
        let net: LocalNetwork
        do {
            net = try LocalNetwork(layers: 3, gateways: 2, dataDirectory: dataDirectory)
            if verbose { net.log = { Terminal.line("  [\($0)]") } }
            try net.start()
        } catch {
            Terminal.error("postern demo: \(error.description)")
            return 1
        }
        for i in 0..<net.nodes.count {
            let node = net.info(i)
            Terminal.line("  \(Format.pad(net.nodeName(i), 9, left: true)) \(node.address)  id \(node.id.hex.prefix(16))…")
        }
        Terminal.line("Every node signed a descriptor with its packet keys for epochs \(net.nodes[0].keyEpochs.map(String.init).joined(separator: ", ")); "
                      + "the nodes hold each other's and keep them fresh by gossip")

        // Alice reads her mail at gateway 1, Bob at gateway 2. Each has an encrypted profile (what
        // `postern profile new` makes); they meet and swap contact codes, as `postern contact` does.
        let gw = net.gateways
        // Each client learns the network from its own gateway: the signed descriptors (VIEW), verified
        // here; no map file is handed around.
        var networks: [ClientNetwork] = []
        for i in 0..<2 {
            let network = ClientNetwork(parameters: net.parameters, bootstrap: net.gatewayPeer(i))
            guard network.refreshNow(loop: net.loop, seconds: timeout) != nil, network.isRoutable else {
                Terminal.error("postern demo: the client could not learn the network from gateway \(i + 1)")
                return 1
            }
            networks.append(network)
        }
        Terminal.line("Alice and Bob each fetched \(networks[0].view.count) signed descriptors from their gateway and built the map of epoch \(networks[0].topology.epoch)")
        let passphrase = Random.bytes(16)   // throwaway profiles: nobody types this
        var sessions: [Session] = []
        do throws(ProfileError) {
            var profiles: [Profile] = []
            for (name, gateway) in [("alice", gw[0]), ("bob", gw[1])] {
                let p = try Profile.create(directory: dataDirectory + "/" + name, passphrase: passphrase)
                try p.save(ProfileSettings(gateway: gateway.id, createdAt: Clock.wallSeconds()))
                profiles.append(p)
            }
            try profiles[0].meet(profiles[1], calling: "bob", calledBy: "alice", now: Clock.wallSeconds())
            Terminal.line("Alice's contact code for Bob: \(try profiles[1].contact("alice").theirs.text)")
            Terminal.line("Bob's contact code for Alice: \(try profiles[0].contact("bob").theirs.text)")
            for (i, p) in profiles.enumerated() {
                try p.save(network: networks[i])
                let session = try Session(profile: p, network: networks[i], loop: net.loop, meanDelayMicros: delayMillis * 1000)
                sessions.append(session)
            }
        } catch {
            Terminal.error("postern demo: \(error.description)")
            return 1
        }
        let alice = sessions[0], bob = sessions[1]
        for (name, s) in [("alice", alice), ("bob", bob)] {
            s.onProblem = { Terminal.line("  \(name): \($0)") }
            s.client.onDisconnect = { Terminal.line("  \(name): gateway connection closed: \($0)") }
        }
        Terminal.line("Sending \(count) messages, mean delay \(Int(delayMillis)) ms per hop, 5 hops each way…")

        var sentAt: [String: UInt64] = [:]
        var latencies: [Double] = []
        var received = 0
        func deliveredTo(_ who: String) -> (InboxEntry) -> Void {
            { entry in
                let text = String(decoding: entry.text, as: UTF8.self)
                guard let start = sentAt.removeValue(forKey: text) else { return }
                let ms = Double(EventLoop.now() - start) / 1e6
                latencies.append(ms)
                received += 1
                Terminal.line("  [\(Format.pad(String(received), 2))/\(count)] \(who) got \"\(text)\" after \(Format.fixed(ms, 1)) ms")
            }
        }
        alice.onMessage = deliveredTo("alice")
        bob.onMessage = deliveredTo("bob  ")
        // Each message carries a SURB; the recipient's gateway answers through it once the message is
        // stored, and only then does the message leave the sender's outbox.
        var acknowledged = 0
        alice.onDelivered = { _ in acknowledged += 1 }
        bob.onDelivered = { _ in acknowledged += 1 }

        // Send one message every 40 ms, alternating speakers; both poll their gateways every 25 ms. Every
        // message is in its sender's outbox, with its ratchet step, before its packet exists.
        var next = 0, failed = false
        func sendNext() {
            guard next < count else { return }
            let fromAlice = next % 2 == 0
            let text = fromAlice ? "hello Bob, this is message \(next + 1) from Alice" : "hi Alice, message \(next + 1) from Bob"
            sentAt[text] = EventLoop.now()
            do { _ = try (fromAlice ? alice : bob).send(Array(text.utf8), to: fromAlice ? "bob" : "alice") } catch {
                Terminal.line("  \(fromAlice ? "alice" : "bob"): \(error.description)")
                failed = true
            }
            next += 1
            net.loop.after(40_000_000) { sendNext() }
        }
        func pollBoth() {
            alice.poll { _ in }
            bob.poll { _ in }
            net.loop.after(25_000_000) { pollBoth() }
        }
        sendNext()
        pollBoth()
        let complete = net.run(seconds: timeout) { failed || (received == count && acknowledged == count) } && !failed
        let chatOK = complete ? publicChat(net, aliceEntry: alice.client, aliceNetwork: alice.network, bobEntry: bob.client,
                                             bobNetwork: bob.network, timeout: timeout) : false
        net.stop()
        for s in sessions {
            s.client.onDisconnect = nil   // closing on purpose: nothing to report
            s.close()
            s.profile.close()
        }

        latencies.sort()
        Terminal.line("")
        if latencies.isEmpty {
            Terminal.line("Summary: 0 of \(count) messages arrived")
        } else {
            let mean = latencies.reduce(0, +) / Double(latencies.count)
            Terminal.line("Summary: \(received) of \(count) messages arrived, \(acknowledged) delivery acknowledgements returned; latency min \(Format.fixed(latencies.first!, 1)) ms, "
                          + "median \(Format.fixed(latencies[latencies.count / 2], 1)) ms, mean \(Format.fixed(mean, 1)) ms, "
                          + "max \(Format.fixed(latencies.last!, 1)) ms")
        }
        var line = "Packets processed:"
        for (i, node) in net.nodes.enumerated() { line += " \(net.nodeName(i)) \(node.packetStats.processed)" }
        Terminal.line(line)
        var stored = "Gateways:"
        for (i, node) in net.nodes.enumerated() where node.descriptor?.roles.isGateway == true {
            stored += " \(net.nodeName(i)) deposited \(node.stats.delivered), refused to store \(node.stats.droppedStore);"
        }
        Terminal.line(stored)
        let refused = net.nodes.reduce(0) { $0 + $1.packetStats.refused }
        Terminal.line("Packets refused by any node: \(refused). Every address was used once and is unlinkable to the others.")
        if !complete {
            Terminal.line("demo: FAILED (\(count - received) messages and \(count - acknowledged) acknowledgements missing after \(Int(timeout)) s)")
        } else if !chatOK {
            Terminal.line("demo: FAILED (the public chat posts were not all read back as expected)")
        } else {
            Terminal.line("demo: OK")
        }
        return complete && chatOK ? 0 : 1
    }

    /// A public chat: Alice (two devices restored from one seed phrase) posts anonymously with each of the
    /// three modes, and once openly; her phone recognises every post as hers, Bob sees "Anonymous".
    static func publicChat(_ net: LocalNetwork, aliceEntry: GatewayClient, aliceNetwork: ClientNetwork, bobEntry: GatewayClient,
                           bobNetwork: ClientNetwork, timeout: Double) -> Bool {
        let chat = "postern-demo"
        let phrase = BIP39.newPhrase()
        guard let laptop = try? ChatIdentity(phrase: phrase), let phone = try? ChatIdentity(phrase: phrase),
              let bob = try? ChatIdentity(phrase: BIP39.newPhrase()) else { return false }
        Terminal.line("")
        Terminal.line("Public chat #\(chat): Alice's laptop and phone share the seed phrase \"\(phrase.prefix(3).joined(separator: " ")) …\"")
        let alice = PublicChatClient(network: aliceNetwork, entry: aliceEntry, loop: net.loop)
        let reader = PublicChatClient(network: bobNetwork, entry: bobEntry, loop: net.loop)
        defer { alice.close(); reader.close() }
        let bucket = PublicChat.bucket(at: Clock.wallSeconds())
        let syncAddress = laptop.syncAddresses(1)[0]
        var sent = 0, acked = 0
        let posts: [(String, PostMode)] = [("derived-key post", .derived), ("signed-random-key post", .signedRandom),
                                           ("keyless post", .keyless), ("named post", .named)]
        for (i, (text, mode)) in posts.enumerated() {
            let ms = UInt64(Clock.wallNanoseconds() / 1_000_000)   // Status: Unix ms, Lamport clock ≥ it
            guard let post = try? laptop.post(text, chatID: chat, clock: ms + UInt64(i), timestamp: ms, mode: mode)
            else { return false }
            sent += 1
            alice.post(post.bytes, chat: chat, bucket: bucket) { if $0 { acked += 1 } }
            if let note = post.syncNote {
                sent += 1
                alice.deposit(note, at: syncAddress) { if $0 { acked += 1 } }
            }
        }
        // Read until all four posts are stored at the chat's gateway, then classify on each device.
        var stored: [[UInt8]] = [], notes: [[UInt8]] = []
        var reading = false
        let ok = net.run(seconds: timeout) {
            if !reading {
                reading = true
                reader.read(PublicChat.address(chat: chat, bucket: bucket)) { blobs in
                    stored = blobs
                    reader.read(syncAddress) { n in notes = n; reading = false }
                }
            }
            return acked == sent && stored.count == posts.count && !notes.isEmpty
        }
        guard ok else { return false }
        for note in notes { phone.learn(syncNote: note) }
        var allRight = true
        for blob in stored {
            guard let seenByPhone = try? phone.classify(blob), let seenByBob = try? bob.classify(blob) else { return false }
            func show(_ a: Authorship) -> String { a.shown(short: true) }
            Terminal.line("  \"\(seenByPhone.message.text)\": Alice's phone shows \(show(seenByPhone.authorship)), Bob sees \(show(seenByBob.authorship))")
            let anonymousPost = seenByPhone.message.text != "named post"
            allRight = allRight && seenByPhone.authorship == .mine(anonymous: anonymousPost)
                && (anonymousPost ? seenByBob.authorship == .anonymous : seenByBob.authorship == .named(author: laptop.chatPublic))
        }
        return allRight
    }

    /// Removes the demo's scratch directory (the nodes' stores and keys, the two profiles).
    static func removeTree(_ dir: String) { try? Files.removeTree(dir) }
}
