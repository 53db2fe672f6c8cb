import Foundation
import PosternClient
import PosternCrypto
import PosternLocalNetwork
import PosternNetwork
import PosternNode
import PosternSystem
import Testing

/// POLL (docs/PROTOCOL.md §4.3): the gateway learns a session's addresses when they change, a poll
/// that changes nothing is one small request whatever the number of contacts, and a held poll is
/// answered when something arrives.
@Suite(.serialized) struct PollTests {
    static func addresses(_ n: Int, seed: UInt8) -> Set<Bytes32> {
        Set((0..<n).map { i in Bytes32([seed, UInt8(i >> 8), UInt8(i & 0xff)] + [UInt8](repeating: 0, count: 29))! })
    }

    /// Runs `poll` on `client` and returns what it brought and the bytes it moved each way.
    static func measured(_ client: GatewayClient, _ net: LocalNetwork, _ wanted: Set<Bytes32>, hold: UInt16 = 0)
        -> (items: Int, ok: Bool, up: Int, down: Int, seconds: Double)? {
        _ = client.takeUsage()
        var answer: (Int, Bool)?
        let start = EventLoop.now()
        client.poll(wanted, holdSeconds: hold) { items, _, ok in answer = (items.count, ok) }
        guard net.run(seconds: Double(hold) + 20, until: { answer != nil }), let answer else { return nil }
        let seconds = Double(EventLoop.now() - start) / 1e9
        let u = client.takeUsage()
        return (answer.0, answer.1, Int(u.up.reduce(0, +)), Int(u.down.reduce(0, +)), seconds)
    }

    @Test func aPollThatChangesNothingCostsTheSameForOneOrAHundredContacts() throws {
        let dir = NSTemporaryDirectory() + "postern-poll-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let net = try LocalNetwork(layers: 1, gateways: 1, dataDirectory: dir)
        try net.start()
        defer { net.stop() }
        var steady: [Int: (up: Int, down: Int)] = [:]
        // 64 watched addresses per contact (two windows of 32).
        for contacts in [1, 10, 100] {
            let client = GatewayClient(loop: net.loop, gateway: net.gateways[0])
            defer { client.close() }
            let wanted = Self.addresses(64 * contacts, seed: UInt8(contacts))
            // The first poll tells the gateway every address: 31 per padded request.
            let first = try #require(Self.measured(client, net, wanted))
            let requests = (64 * contacts + 30) / 31
            let frame = 2 + 5 + ClientRequest.controlBodyBytes + 16
            #expect(first.ok && first.items == 0)
            let handshake = 2 + 32 + 16   // Noise NK's first message, framed
            #expect(first.up == handshake + requests * frame, "\(contacts) contacts: \(first.up) bytes up")
            // Then a poll with nothing changed is one 5-byte request and one 3-byte answer.
            let again = try #require(Self.measured(client, net, wanted))
            #expect(again.ok && again.items == 0)
            #expect(again.up == 2 + 5 + 5 + 16 && again.down == 2 + 6 + 3 + 16, "\(contacts) contacts: \(again)")
            steady[contacts] = (again.up, again.down)
            // One address changed: one padded request.
            var changed = wanted
            changed.remove(changed.first!)
            changed.insert(Bytes32([UInt8](repeating: 0xee, count: 32))!)
            let moved = try #require(Self.measured(client, net, changed))
            #expect(moved.ok && moved.up == frame)
        }
        #expect(steady[1]! == steady[100]!)
    }

    /// An answer looks only where something may wait: every address once after it is first watched,
    /// then only those a commit stored something at (and those still holding messages).
    @Test func theGatewayLooksOnlyWhereSomethingMayWait() throws {
        let w = try TwoPeople()
        let alice = try w.session("alice"), bob = try w.session("bob")
        defer { alice.close(); bob.close() }
        let gateway = try #require(w.net.nodes.first { $0.id == w.net.gateways[1].id })
        func poll() throws {
            var answered: Bool?
            bob.poll { answered = $0 }
            #expect(w.net.run(seconds: 20) { answered != nil })
            #expect(answered == true)
        }
        let first = try bob.pollPlan().wanted, watched = first.count
        try poll()
        #expect(gateway.stats.pollLookups == watched, "\(gateway.stats.pollLookups) lookups for \(watched) addresses")
        try poll()
        try poll()
        #expect(gateway.stats.pollLookups == watched)   // nothing new: nothing looked up
        var got = 0
        bob.onMessage = { _ in got += 1 }
        _ = try alice.send(Array("one".utf8), to: "bob")
        #expect(w.run([bob], seconds: 30) { got == 1 })
        // Receiving moved bob's windows: the addresses new to the watch are looked up once, and the one
        // the message was at once more (it was emptied by the DELETE), nothing else.
        let after = gateway.stats.pollLookups
        let added = try bob.pollPlan().wanted.subtracting(first).count
        try poll()
        try poll()
        #expect(gateway.stats.pollLookups - after <= added + 1, "\(gateway.stats.pollLookups - after) lookups after the message was taken, \(added) addresses new")
    }

    @Test func aHeldPollIsAnsweredWhenAMessageArrives() throws {
        let w = try TwoPeople()
        let alice = try w.session("alice"), bob = try w.session("bob")
        defer { alice.close(); bob.close() }
        var got: [String] = []
        bob.onMessage = { got.append(String(decoding: $0.text, as: UTF8.self)) }
        // Nothing waits: bob's poll is held for its whole (short) hold, then answered "nothing new".
        var answered: Bool?
        var start = EventLoop.now()
        bob.poll(holdSeconds: 2) { answered = $0 }
        #expect(w.net.run(seconds: 20) { answered != nil })
        let empty = Double(EventLoop.now() - start) / 1e9
        #expect(answered == true && bob.lastPoll.items == 0 && empty >= 1.9, "answered after \(empty) s")
        let gateway = try #require(w.net.nodes.first { $0.id == w.net.gateways[1].id })
        #expect(gateway.stats.pollsHeld == 1)
        // Now held for up to 60 s while alice sends: answered as soon as the message is stored.
        answered = nil
        start = EventLoop.now()
        bob.poll(holdSeconds: 60) { answered = $0 }
        _ = w.net.run(seconds: 0.3) { false }
        _ = try alice.send(Array("held".utf8), to: "bob")
        #expect(w.net.run(seconds: 40) { answered != nil })
        let waited = Double(EventLoop.now() - start) / 1e9
        #expect(answered == true && got == ["held"] && waited < 30, "answered after \(waited) s with \(got)")
        #expect(gateway.stats.pollsHeld == 2)
        // The message was deleted once stored: the next poll finds nothing.
        answered = nil
        bob.poll { answered = $0 }
        #expect(w.net.run(seconds: 20) { answered != nil })
        #expect(bob.lastPoll.items == 0)
    }

    /// The gateway watches only the first `Session.lookAhead` addresses of each window: a burst longer
    /// than that still arrives in full, each poll watching the next ones as the window moves.
    @Test func aBurstLongerThanTheLookAheadArrivesInFull() throws {
        let w = try TwoPeople()
        let alice = try w.session("alice"), bob = try w.session("bob")
        defer { alice.close(); bob.close() }
        #expect(try bob.pollPlan().wanted.count <= 2 * Session.lookAhead)
        var got: Set<String> = []
        bob.onMessage = { got.insert(String(decoding: $0.text, as: UTF8.self)) }
        let burst = 3 * Session.lookAhead
        for i in 0..<burst { _ = try alice.send(Array("burst \(i)".utf8), to: "bob") }
        #expect(w.run([bob], seconds: 60) { got.count == burst }, "\(got.count) of \(burst)")
        #expect(got == Set((0..<burst).map { "burst \($0)" }))
    }

    @Test func watchingTooManyAddressesIsRefusedAndCounted() throws {
        let dir = NSTemporaryDirectory() + "postern-poll-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let net = try LocalNetwork(layers: 1, gateways: 1, dataDirectory: dir) { $0.maxWatchedPerClient = 100 }
        try net.start()
        defer { net.stop() }
        let client = GatewayClient(loop: net.loop, gateway: net.gateways[0])
        defer { client.close() }
        let over = try #require(Self.measured(client, net, Self.addresses(101, seed: 1)))
        #expect(!over.ok)
        let gateway = net.nodes[1]
        #expect(gateway.stats.pollsRefused == 1)
        // Within the limit again: the next poll starts over (clear) and is answered.
        let within = try #require(Self.measured(client, net, Self.addresses(100, seed: 2)))
        #expect(within.ok)
        #expect(gateway.stats.pollsRefused == 1)
    }

    @Test func pollRequestsParseStrictly() throws {
        let a = Bytes32([UInt8](repeating: 1, count: 32))!, b = Bytes32([UInt8](repeating: 2, count: 32))!
        func parse(_ body: [UInt8]) -> PollRequest? {
            let frame: [UInt8] = [5, 0, 0, 0, 1] + body
            guard case .poll(let p)?? = frame.withUnsafeBytes({ ClientRequest.parse($0, packetBytes: 2640)?.request }) else { return nil }
            return p
        }
        let plain = PollRequest(answer: true, holdSeconds: 600)
        #expect(plain.body == [1, 2, 88, 0, 0])
        #expect(parse(plain.body) == plain)
        let changes = PollRequest(answer: false, clear: true, add: [a], remove: [b])
        #expect(changes.body.count == ClientRequest.controlBodyBytes)
        #expect(Array(changes.body[..<5]) == [2, 0, 0, 1, 1])
        #expect(parse(changes.body) == changes)
        #expect(parse([4, 0, 0, 0, 0]) == nil)                       // unknown flag
        #expect(parse([1, 2, 89, 0, 0]) == nil)                      // hold over 600 s
        #expect(parse([1, 0, 0, 0, 0, 0]) == nil)                    // trailing byte
        #expect(parse(ClientRequest.padded([1, 0, 0, 0, 0])) == nil) // padded without changes
        let twice = ClientRequest.padded([1, 0, 0, 2, 0] + a.bytes + a.bytes)
        #expect(parse(twice) == nil)                                 // an address twice
        #expect(parse(ClientRequest.padded([1, 0, 0, 1, 0] + a.bytes)) != nil)
        var dirty = ClientRequest.padded([1, 0, 0, 1, 0] + a.bytes)
        dirty[100] = 1
        #expect(parse(dirty) == nil)                                 // not zero after the content
        #expect(parse(ClientRequest.padded([1, 0, 0, 32, 0])) == nil) // 32 changes
    }

    /// VIEW (PROTOCOL.md §4.3): offset (u32) ‖ n (1, ≤ 16) ‖ n × node id, padded with zeros to one size.
    @Test func viewRequestsNameWantedIdsAndParseStrictly() throws {
        let a = Bytes32([UInt8](repeating: 1, count: 32))!, b = Bytes32([UInt8](repeating: 2, count: 32))!
        func parse(_ body: [UInt8]) -> (offset: UInt32, wanted: [Bytes32])? {
            let frame: [UInt8] = [4, 0, 0, 0, 9] + body
            guard case .view(let offset, let wanted)?? = frame.withUnsafeBytes({ ClientRequest.parse($0, packetBytes: 2640)?.request }) else { return nil }
            return (offset, wanted)
        }
        let none = ClientRequest.padded([0, 0, 1, 2, 0])
        #expect(parse(none).map { $0.offset == 258 && $0.wanted.isEmpty } == true)
        let two = ClientRequest.padded([0, 0, 0, 7, 2] + a.bytes + b.bytes)
        #expect(parse(two).map { $0.offset == 7 && $0.wanted == [a, b] } == true)
        // The encoder gives exactly that frame.
        #expect(ClientRequest.view(offset: 7, wanted: [a, b]).encoded(id: 9) == [4, 0, 0, 0, 9] + two)
        #expect(parse([0, 0, 0, 7, 0]) == nil)                                  // not padded
        #expect(parse(ClientRequest.padded([0, 0, 0, 0, 17] + (0..<17).flatMap { _ in a.bytes })) == nil)   // 17 ids
        var dirty = two
        dirty[69] = 1
        #expect(parse(dirty) == nil)                                            // not zero after the ids
    }
}
