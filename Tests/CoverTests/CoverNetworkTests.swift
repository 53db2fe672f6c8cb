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
        let dir = NSTemporaryDirectory() + "postern-cover-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var relay = CoverConfig()
        relay.payloadRate = 0; relay.loopRate = 0; relay.dropRate = 0; relay.relayLoopRate = 10
        relay.loopTimeoutSeconds = 30
        relay.bytesPerDay = 100 << 30
        let net = try LocalNetwork(layers: 3, gateways: 2, dataDirectory: dir) { $0.cover = relay }
        try net.start()
        defer { net.stop() }
        let gw = net.gateways
        let a = ContactSecret(gateway: gw[0].id), b = ContactSecret(gateway: gw[1].id)
        let alice = try Messenger(conversation: try Conversation(ours: a, theirs: b.bundle), client: GatewayClient(loop: net.loop, gateway: gw[0]),
                                  topology: net.topology, theirGateway: gw[1].id, meanDelayMicros: 5_000)
        let bob = try Messenger(conversation: try Conversation(ours: b, theirs: a.bundle), client: GatewayClient(loop: net.loop, gateway: gw[1]),
                                topology: net.topology, theirGateway: gw[0].id, meanDelayMicros: 5_000)
        var got: [String] = []
        bob.onMessage = { got.append(String(decoding: $0, as: UTF8.self)) }
        var client = CoverConfig()
        client.payloadRate = 20; client.loopRate = 10; client.dropRate = 10
        client.loopTimeoutSeconds = 30   // generous: a loaded test machine can hold packets for seconds
        client.bytesPerDay = 100 << 30   // full rate for the test; budgets are covered by the simulation tests
        let driver = CoverDriver(messenger: alice, config: client, loop: net.loop)
        for i in 0..<5 { alice.enqueue(Array("covered \(i)".utf8)) }
        driver.start()
        var lastPoll: UInt64 = 0
        let done = net.run(seconds: 20) {
            if EventLoop.now() - lastPoll > 50_000_000 { lastPoll = EventLoop.now(); alice.poll(); bob.poll() }
            // Also run until a payload slot went out empty (a dummy) and a drop was sent: the first payload
            // slots may all carry the five real messages.
            return got.count == 5 && driver.loops.returned >= 5 && net.nodes.prefix(3).allSatisfy { $0.stats.loopsReturned > 0 }
                && driver.sent.payloadDummies > 0 && driver.sent.drops > 0
        }
        driver.stop()
        #expect(done, "got \(got.count), loops back \(driver.loops.returned), sent \(driver.sent)")
        #expect(Set(got) == Set((0..<5).map { "covered \($0)" }))
        #expect(driver.sent.real == 5 && driver.sent.payloadDummies > 0 && driver.sent.drops > 0)
        let dropped = net.nodes.reduce(0) { $0 + $1.stats.coverDropped }
        #expect(dropped > 0)
        // Drops are never stored: nothing at the drop address in either gateway.
        for i in 3..<5 { #expect(try net.nodes[i].mailbox!.fetch(address: .zero, limit: 64).isEmpty) }
    }
}
