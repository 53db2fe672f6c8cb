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

/// A mix that stops mid-epoch stays in the map until its descriptor ages out (two epoch boundaries,
/// hours on a real network). A client's loops find it down, and its routes go around it meanwhile
/// (`HopHealth`, docs/PROTOCOL.md §4.6).
@Suite struct DeadMixTests {
    @Test func aClientsLoopsFindAStoppedMixAndItsMessagesGoAroundIt() throws {
        var relay = CoverConfig()
        relay.payloadRate = 0; relay.loopRate = 0; relay.dropRate = 0; relay.relayLoopRate = 5
        relay.loopTimeoutSeconds = 5
        relay.bytesPerDay = 100 << 30
        // Three layers of two mixes each, so that every layer still routes with one of them stopped.
        let w = try AliceAndBob(mixes: 6) { $0.cover = relay }
        defer { withExtendedLifetime(w) {} }   // its deinit stops the network
        let net = w.net
        var logged: [String] = []
        net.log = { logged.append($0) }   // read at every line: the relay loops' warnings come later
        let map = w.network.topology
        try #require((1...3).allSatisfy { map.mixes(layer: $0).count == 2 })
        let (alice, bob) = try w.sessions()
        defer { alice.close(); bob.close() }
        var got: [String] = []
        bob.onMessage = { got.append(String(decoding: $0.text, as: UTF8.self)) }
        var client = CoverConfig()
        client.payloadRate = 10; client.loopRate = 20; client.dropRate = 0
        client.loopTimeoutSeconds = 5   // loops come back in well under a second here, even on a loaded machine
        client.bytesPerDay = 100 << 30
        let cover = ClientCover(courier: alice.courier, client: alice.client, config: client, loop: net.loop)
        alice.cover = cover
        cover.sendReal = { ((try? alice.flushOutbox(limit: 1)) ?? 0) == 1 }
        var lastPoll: UInt64 = 0
        func poll() {
            if EventLoop.now() - lastPoll > 50_000_000 { lastPoll = EventLoop.now(); alice.poll { _ in }; bob.poll { _ in } }
        }
        cover.start()
        defer { cover.stop() }
        // Loops flow through every mix; then a layer-2 mix stops, its descriptor still valid.
        #expect(net.run(seconds: 20) { poll(); return cover.loops.returned >= 20 }, "loops back: \(cover.loops.returned)")
        let dead = try #require(map.mixes(layer: 2).first?.id)
        let deadIndex = try #require(net.nodes.firstIndex { $0.id == dead })
        net.nodes[deadIndex].stop()
        let stoppedAt = Clock.wallTime()
        let found = net.run(seconds: 30) { poll(); return alice.courier.health.isSuspect(dead, now: Clock.wallTime()) }
        #expect(found, "lost \(cover.loops.lost) loops, suspects \(alice.courier.health.suspects(now: Clock.wallTime()).count)")
        #expect(Clock.wallTime() - stoppedAt < 25)
        // The nodes' relay loops find it too, and say so.
        let warned = net.run(seconds: 20) { logged.contains { $0.contains("relay loops: mix \(dead.hex.prefix(16))… lost 3 loops in a row") } }
        #expect(warned, "\(logged.filter { $0.contains("relay loops") })")
        // Every message now takes the other layer-2 mix: all arrive without a resend (a route through the
        // stopped mix would lose about every other one; resends wait 120 s).
        for i in 0..<8 { _ = try alice.queue(Array("around \(i)".utf8), to: "bob") }
        let delivered = net.run(seconds: 30) { poll(); return got.count == 8 }
        #expect(delivered, "got \(got.count) of 8")
        #expect(Set(got) == Set((0..<8).map { "around \($0)" }))
        #expect(!alice.courier.health.isSuspect(map.mixes(layer: 2)[1].id, now: Clock.wallTime()))
    }
}
