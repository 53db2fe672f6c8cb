import Foundation
import PosternClient
import PosternCover
import PosternCrypto
import PosternLocalNetwork
import PosternNetwork
import PosternNode
import PosternRatchet
import PosternSystem
import Testing

/// Cover traffic on a real loopback network: real messages ride in payload slots, loops come back,
/// drops die unstored at gateways, relay loops return to the mixes.
@Suite struct CoverNetworkTests {
    @Test func coverOnALiveNetwork() throws {
        var relay = CoverConfig()
        relay.payloadRate = 0; relay.loopRate = 0; relay.dropRate = 0; relay.relayLoopRate = 10
        relay.loopTimeoutSeconds = 30
        relay.bytesPerDay = 100 << 30
        let w = try AliceAndBob { $0.cover = relay }
        defer { withExtendedLifetime(w) {} }   // its deinit stops the network
        let net = w.net
        let (alice, bob) = try w.sessions()
        defer { alice.close(); bob.close() }
        var got: [String] = []
        bob.onMessage = { got.append(String(decoding: $0.text, as: UTF8.self)) }
        var client = CoverConfig()
        client.payloadRate = 20; client.loopRate = 10; client.dropRate = 10
        client.loopTimeoutSeconds = 30   // generous: a loaded test machine can hold packets for seconds
        client.bytesPerDay = 100 << 30   // full rate for the test; budgets are covered by the simulation tests
        // As `postern inbox --watch` runs it: the cover is the profile's only sender, one queued message
        // per payload slot.
        let cover = ClientCover(courier: alice.courier, client: alice.client, config: client, loop: net.loop)
        alice.cover = cover   // alice's polls fetch the loops and acknowledgements
        cover.sendReal = { ((try? alice.flushOutbox(limit: 1)) ?? 0) == 1 }
        for i in 0..<5 { _ = try alice.queue(Array("covered \(i)".utf8), to: "bob") }
        cover.start()
        var lastPoll: UInt64 = 0
        let done = net.run(seconds: 20) {
            if EventLoop.now() - lastPoll > 50_000_000 { lastPoll = EventLoop.now(); alice.poll { _ in }; bob.poll { _ in } }
            // Also run until a payload slot went out empty (a dummy) and a drop was sent: the first payload
            // slots may all carry the five real messages.
            return got.count == 5 && cover.loops.returned >= 5 && net.nodes.prefix(3).allSatisfy { $0.stats.loopsReturned > 0 }
                && cover.sent.dummies > 0 && cover.sent.drops > 0
        }
        cover.stop()
        #expect(done, "got \(got.count), loops back \(cover.loops.returned), sent \(cover.sent)")
        #expect(Set(got) == Set((0..<5).map { "covered \($0)" }))
        #expect(cover.sent.real == 5 && cover.sent.dummies > 0 && cover.sent.drops > 0)
        let dropped = net.nodes.reduce(0) { $0 + $1.stats.coverDropped }
        #expect(dropped > 0)
        // Drops are never stored: nothing at the drop address in either gateway.
        for i in 3..<5 { #expect(try net.nodes[i].mailbox!.fetch(address: .zero, limit: 64).isEmpty) }
    }
}
