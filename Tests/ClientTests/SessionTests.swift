import Foundation
import PosternClient
import PosternCrypto
import PosternLocalNetwork
import PosternMailbox
import PosternNetwork
import PosternNode
import PosternSystem
import Testing

/// Two profiles (each an encrypted store on disk) messaging through a real loopback mixnet.
final class TwoPeople {
    let dir = NSTemporaryDirectory() + "postern-session-" + UUID().uuidString
    let net: LocalNetwork
    let pass = Array("passphrase for tests".utf8)

    init(mailbox: MailboxConfig = MailboxConfig(), configure: (inout NodeOptions) -> Void = { _ in }) throws {
        net = try LocalNetwork(layers: 3, gateways: 2, dataDirectory: dir + "/net", mailbox: mailbox, configure: configure)
        try net.start()
        for (name, gateway) in [("alice", 0), ("bob", 1)] {
            let p = try Profile.create(directory: dir + "/" + name, passphrase: pass)
            try p.save(ProfileSettings(gateway: net.gateways[gateway].id, createdAt: Clock.wallSeconds()))
        }
        // They meet: Alice shows a code made for Bob; Bob adds it and shows his (made on the spot).
        let alice = try open("alice"), bob = try open("bob")
        let aliceBundle = try alice.newBundle(for: "bob", now: Clock.wallSeconds())
        let (_, made) = try bob.addContact("alice", aliceBundle, now: Clock.wallSeconds())
        #expect(made)
        let bobBundle = try bob.newBundle(for: "alice", now: Clock.wallSeconds())
        let (_, madeByAlice) = try alice.addContact("bob", bobBundle, now: Clock.wallSeconds())
        #expect(!madeByAlice)
    }

    deinit {
        net.stop()
        try? FileManager.default.removeItem(atPath: dir)
    }

    func open(_ name: String) throws -> Profile { try Profile.open(directory: dir + "/" + name, passphrase: pass) }

    /// Each person's view of the network, learned from their own gateway (alice: gateway 1, bob: 2).
    lazy var networks: [String: ClientNetwork] = {
        var out: [String: ClientNetwork] = [:]
        for (name, g) in [("alice", 0), ("bob", 1)] {
            let n = ClientNetwork(parameters: net.parameters, bootstrap: net.gatewayPeer(g))
            #expect(n.refreshNow(loop: net.loop, seconds: 20) == 0)
            out[name] = n
        }
        return out
    }()

    func session(_ name: String) throws -> Session {
        let s = try Session(profile: try open(name), network: networks[name]!, loop: net.loop, meanDelayMicros: 2_000)
        s.resendAfterSeconds = 3600
        return s
    }

    /// Runs the network, polling `sessions` every 20 ms, until `condition` holds (or 20 s pass).
    func run(_ sessions: [Session], seconds: Double = 20, until condition: () -> Bool) -> Bool {
        var last: UInt64 = 0
        return net.run(seconds: seconds) {
            if EventLoop.now() - last > 20_000_000 {
                last = EventLoop.now()
                for s in sessions { s.poll { _ in } }
            }
            return condition()
        }
    }

    var aliceGateway: Int { net.topology.layers }
}

@Suite(.serialized) struct SessionTests {
    @Test func offlineRecipientReadsLater() throws {
        let w = try TwoPeople()
        var delivered: [UInt64] = []
        do {
            let alice = try w.session("alice")
            defer { alice.close() }
            alice.onDelivered = { delivered.append($0.id) }
            var ids: [UInt64] = []
            for text in ["first", "second", "third"] { ids.append(try alice.send(Array(text.utf8), to: "bob").id) }
            // Bob's client is not running: the acknowledgements come from his gateway.
            #expect(w.run([alice]) { delivered.count == 3 })
            #expect(Set(delivered) == Set(ids))
            #expect(try alice.profile.outbox().isEmpty)
        }
        // Later Bob starts his client: a fresh process's view, from his profile on disk.
        let bob = try w.session("bob")
        defer { bob.close() }
        var got: [String] = []
        bob.onMessage = { got.append(String(decoding: $0.text, as: UTF8.self)) }
        #expect(w.run([bob]) { got.count == 3 })
        #expect(Set(got) == ["first", "second", "third"])
        let inbox = try bob.profile.inbox()
        #expect(inbox.count == 3 && inbox.allSatisfy { $0.contact == "alice" && !$0.seen && $0.sentAt > 0 })
        // Bob answers (and waits for Alice's gateway to acknowledge it); Alice, offline until now, reads it.
        var answered = false
        bob.onDelivered = { _ in answered = true }
        _ = try bob.send(Array("got all three".utf8), to: "alice")
        #expect(w.run([bob]) { answered })
        bob.close()
        let alice = try w.session("alice")
        defer { alice.close() }
        var reply = ""
        alice.onMessage = { reply = String(decoding: $0.text, as: UTF8.self) }
        #expect(w.run([alice, bob]) { reply == "got all three" })
    }

    @Test func sentWhileTheGatewayIsDownArrivesAfterItReturns() throws {
        let w = try TwoPeople()
        let alice = try w.session("alice")
        defer { alice.close() }
        var problems: [String] = [], delivered = 0
        alice.onProblem = { problems.append($0) }
        alice.onDelivered = { _ in delivered += 1 }
        w.net.nodes[w.aliceGateway].stop()
        let entry = try alice.send(Array("are you there?".utf8), to: "bob")
        #expect(w.net.run(seconds: 5) { !problems.isEmpty })
        #expect(problems.first?.contains("stays queued") == true)
        // Still queued, on disk, with its ratchet step.
        #expect(try alice.profile.outbox().map(\.id) == [entry.id])
        try w.net.restart(w.aliceGateway)
        let bob = try w.session("bob")
        defer { bob.close() }
        var got: [String] = []
        bob.onMessage = { got.append(String(decoding: $0.text, as: UTF8.self)) }
        // As `inbox --watch` cycles do: the outbox is flushed again every half second. The first tries
        // fall in the connection's backoff wait (1 s ± 25% after the failed attempt) and fail at once.
        var flushedAt: UInt64 = 0
        #expect(w.run([alice, bob]) {
            if EventLoop.now() - flushedAt > 500_000_000 { flushedAt = EventLoop.now(); _ = try? alice.flushOutbox() }
            return delivered == 1 && got == ["are you there?"]
        })
    }

    @Test func retriedMessageIsShownOnce() throws {
        let w = try TwoPeople()
        let alice = try w.session("alice")
        defer { alice.close() }
        var delivered = 0
        alice.onDelivered = { _ in delivered += 1 }
        _ = try alice.send(Array("only once".utf8), to: "bob")
        // The acknowledgement is slow (say): the message goes out again in a new packet.
        alice.resendAfterSeconds = 0
        #expect(w.net.run(seconds: 5) { alice.submitted >= 1 })
        try alice.flushOutbox()
        #expect(w.net.run(seconds: 5) { alice.submitted >= 2 })
        let bob = try w.session("bob")
        defer { bob.close() }
        var got: [String] = []
        bob.onMessage = { got.append(String(decoding: $0.text, as: UTF8.self)) }
        #expect(w.run([alice, bob]) { delivered == 1 && got.count == 1 })
        _ = w.run([alice, bob], seconds: 1) { got.count > 1 }   // time for a duplicate to arrive
        #expect(got == ["only once"])
        #expect(try bob.profile.inbox().count == 1)
    }

    @Test func refusedByTheRecipientsGatewayIsReportedAndKept() throws {
        var strict = MailboxConfig()
        strict.maxPerAddress = 1
        let w = try TwoPeople(mailbox: strict)
        let alice = try w.session("alice")
        defer { alice.close() }
        var problems: [String] = [], delivered = 0
        alice.onProblem = { problems.append($0) }
        alice.onDelivered = { _ in delivered += 1 }
        // Someone already filled the message's address at Bob's gateway: it will refuse the deposit.
        let entry = try alice.queue(Array("no room at the address".utf8), to: "bob")
        let bobsGateway = w.net.nodes[w.net.topology.layers + 1]
        _ = try bobsGateway.mailbox!.deposit(address: entry.address, blob: [1, 2, 3])
        try bobsGateway.mailbox!.flush()
        try alice.flushOutbox()
        #expect(w.run([alice]) { !problems.isEmpty })
        #expect(problems.first?.contains("bob's gateway could not store message \(entry.id)") == true, "\(problems)")
        #expect(delivered == 0 && bobsGateway.stats.acksSent == 1)
        #expect(try alice.profile.outbox().map(\.id) == [entry.id])   // kept, sent again later
    }
}
