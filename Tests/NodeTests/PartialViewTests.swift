import Foundation
import PosternCover
import PosternCrypto
@testable import PosternLink
import PosternLocalNetwork
import PosternNetwork
import PosternNode
import PosternPacket
import PosternStore
import PosternSystem
import Testing

/// Nodes running partial views (PROTOCOL.md §5.9) on loopback: twelve real nodes (nine mixes, three
/// gateways; layer rule 2) whose views hold 4 ids and samples 4 values, so each holds at most 9 of the
/// 12 descriptors once a round has let go of the rest.
@Suite(.serialized) struct PartialViewTests {
    static let viewSize = 4, sampleSize = 4

    @Test func twelveNodesWithPartialViewsStayBoundedReachableRouteLoopsTakeInAJoinerAndForgetLeavers() throws {
        let dir = NSTemporaryDirectory() + "postern-partial-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var relay = CoverConfig()
        relay.payloadRate = 0; relay.loopRate = 0; relay.dropRate = 0; relay.relayLoopRate = 2
        relay.loopTimeoutSeconds = 30
        relay.bytesPerDay = 100 << 30
        let net = try LocalNetwork(layers: 3, mixes: 9, gateways: 3, dataDirectory: dir, epochSeconds: 12, layerRule: .hashed) {
            $0.viewSize = Self.viewSize
            $0.sampleSize = Self.sampleSize
            $0.cover = relay
            $0.loopMeanDelayMicros = 2_000
        }
        try net.start()
        defer { net.stop() }
        let nodes = net.nodes
        // Rounds every second (E/12); twelve of them.
        var largestView = 0
        // Ids in some other node's view or sample, over the last six rounds (a view is drawn anew every
        // round, so at one instant a node may be in none by chance; left out for six rounds is a bug).
        var seenByOthers: Set<Bytes32> = []
        let since = Date().addingTimeInterval(6)
        _ = net.run(seconds: 12) {
            for n in nodes { largestView = max(largestView, n.partialView?.view.count ?? .max) }
            if Date() >= since {
                for n in nodes { if let (view, sample) = n.partialView { seenByOthers.formUnion(Set(view + sample).subtracting([n.id])) } }
            }
            return false
        }
        #expect(largestView <= Self.viewSize)
        for n in nodes {
            let s = n.stats
            let (view, sample) = try #require(n.partialView)
            #expect(!view.contains(n.id) && !sample.contains(n.id))
            #expect(s.samplingRounds[0] + s.samplingRounds[3] > 0, "no round of \(n.id.hex.prefix(8)) renewed or joined: \(s.samplingRounds)")
            #expect(s.descriptorsAfterRound <= Self.viewSize + Self.sampleSize + 1 && s.descriptorsAfterRound < nodes.count,
                    "\(s.descriptorsAfterRound) descriptors held after a round")
        }
        // Nobody is left out: every node was in another node's view or sample.
        for n in nodes { #expect(seenByOthers.contains(n.id), "node \(n.id.hex.prefix(8)) was in no other node's view or sample for six rounds") }
        // What gateways hand their clients (VIEW): their own descriptor, their sample's, and view members
        // only of a mix layer the sample has no mix of; never the whole view.
        let now = Clock.wallSeconds()
        let epoch = net.parameters.epoch(at: now)
        func layer(_ d: NodeDescriptor) -> Int { NetworkView.layer(of: d.identity, epoch: epoch, layers: 3) }
        let gatewayIDs = Set(net.gateways.map(\.id))
        for g in nodes where gatewayIDs.contains(g.id) {
            let (view, sample) = try #require(g.partialView)
            let share = g.descriptorsForClients(now: now)
            #expect(share.contains { $0.id == g.id })
            let sampled = share.filter { sample.contains($0.id) || $0.id == g.id }
            #expect(sampled.count > 1, "no sample member handed to clients")
            let covered = Set(sampled.filter { $0.roles.isMix }.map(layer))
            for d in share where !sample.contains(d.id) && d.id != g.id {
                #expect(view.contains(d.id) && d.roles.isMix && !covered.contains(layer(d)),
                        "a view member of covered layer \(layer(d)) handed to clients")
            }
            #expect(Set(share.map(\.id)).count == share.count && share.count < nodes.count)
        }

        // Relay loops, routed from each node's sample (widened only for a layer where it has no healthy
        // mix), come back (through hops the senders' mixes may not hold: format 3 carries their addresses).
        let returned = nodes.reduce(0) { $0 + $1.stats.loopsReturned }
        let sent = nodes.reduce(0) { $0 + $1.stats.loopsSent }
        #expect(sent > 0 && returned > 0, "\(returned) of \(sent) relay loops returned")
        let hops = nodes.reduce(0) { $0 + $1.stats.loopHops }, widened = nodes.reduce(0) { $0 + $1.stats.loopHopsWidened }
        #expect(hops >= 3 * sent && widened < hops, "\(widened) of \(hops) loop hops outside the samples")
        let unknownHop = nodes.reduce(0) { $0 + $1.stats.droppedUnknownHop }
        #expect(unknownHop == 0)

        // A thirteenth node joins with one bootstrap line (node 0), as `network.bootstrap` gives it: it
        // pulls from its bootstrap peer, fills its view, pushes, and others take it into view or sample.
        let listen = try TCP.listen("127.0.0.1", 0)
        var options = NodeOptions(listen: "127.0.0.1:\(TCP.localPort(listen))")
        options.listenSocket = listen
        options.viewSize = Self.viewSize
        options.sampleSize = Self.sampleSize
        options.bootstrap = [Peer(address: net.info(0).address, linkKey: net.info(0).linkKey)]
        try Files.makeDirectories(dir + "/joiner")
        let joiner = try Node(secrets: NodeSecrets.generate(), network: net.parameters, loop: net.loop, options: options, mailbox: nil,
                              state: try RecordStore(directory: dir + "/joiner", mapSize: 16 << 20))
        try joiner.start()
        defer { joiner.stop() }
        func joined() -> Bool {
            (joiner.partialView?.view.count ?? 0) == Self.viewSize
                && nodes.contains { $0.partialView.map { $0.view.contains(joiner.id) || $0.sample.contains(joiner.id) } ?? false }
        }
        #expect(net.run(seconds: 20) { joined() }, "joiner's view \(joiner.partialView?.view.count ?? 0), rounds \(joiner.stats.samplingRounds)")

        // Two mixes leave silently. Halfway through each epoch every node asks its view's and sample's
        // members for their descriptors (and later entrants of its sample when they enter); at the next
        // boundary those that did not answer leave view and sample, and pull answers do not bring them
        // back that epoch. Stopped in epoch e, they were asked in the middle of e or e + 1 at the latest,
        // so no live node holds them in view or sample before every live node has started epoch e + 3,
        // the first whose packet keys they did not publish (which alone took until then; this failed one
        // run in two). Counted in the nodes' own epochs, not in seconds, so a starved loop on a loaded
        // machine delays both sides alike; bounded by 120 s.
        let leaving = [nodes[3], nodes[7]]
        for n in leaving { n.stop() }
        let stoppedIn = net.parameters.epoch(at: Clock.wallSeconds())
        let gone = Set(leaving.map { $0.id })
        let live = nodes.filter { !gone.contains($0.id) } + [joiner]
        func holding() -> Int {
            live.filter { n in n.partialView.map { !Set($0.view + $0.sample).isDisjoint(with: gone) } ?? true }.count
        }
        var healedIn: UInt32?
        _ = net.run(seconds: 120) {
            if holding() == 0 { healedIn = live.compactMap(\.samplingEpoch).max() ?? 0; return true }
            return live.allSatisfy { ($0.samplingEpoch ?? 0) >= stoppedIn + 3 }
        }
        #expect(healedIn.map { $0 < stoppedIn + 3 } ?? false,
                "stopped in epoch \(stoppedIn); healed in \(healedIn.map(String.init) ?? "none"); \(holding()) live nodes still hold a leaver")
        #expect(live.allSatisfy { ($0.partialView?.view.count ?? 0) >= 1 })
    }

    /// A node can push only itself (the pushed descriptor must name the link key the pusher
    /// authenticated with), and a pull answer counts only from a node asked for it: both refused and
    /// counted, neither reaches the samplers. DESCRIBE is answered with the node's own descriptor.
    @Test func pushesOfOthersAndUnaskedPullAnswersAreRefusedAndDescribeIsAnswered() throws {
        let dir = NSTemporaryDirectory() + "postern-partial-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let net = try LocalNetwork(layers: 3, gateways: 1, dataDirectory: dir, epochSeconds: 3600, layerRule: .hashed) {
            $0.viewSize = Self.viewSize
            $0.sampleSize = Self.sampleSize
        }
        try net.start()
        defer { net.stop() }
        let node = net.nodes[0], info = net.info(0)
        let (host, port) = try #require(TCP.parse(info.address))
        let other = try #require(net.nodes[1].descriptor)
        let secret = Random.bytes(32)
        let c = Connection(fd: try TCP.connect(host, port), loop: net.loop,
                           handshake: try NoiseHandshake(pattern: .XK, initiator: true, prologue: Array("postern/link/1".utf8),
                                                         staticKey: secret, remoteStatic: info.linkKey.bytes),
                           maxFrame: net.parameters.geometry.packetBytes + 16, connecting: true)
        var up = false, answers: [GossipFrame] = []
        c.onEstablished = { _ in up = true }
        c.onMessage = { _, bytes in GossipFrame(Array(bytes)).map { answers.append($0) } }
        c.start()
        defer { c.close("test done") }
        #expect(net.run(seconds: 5) { up })
        let refused = node.stats.gossipRefused
        c.send(GossipFrame.push(other.bytes, work: nil).encoded)   // node 1's descriptor, over a link with another key
        #expect(net.run(seconds: 5) { node.stats.gossipRefused == refused + 1 })
        c.send(GossipFrame.pulled(last: true, [other.bytes]).encoded)   // nobody asked this link
        #expect(net.run(seconds: 5) { node.stats.gossipRefused == refused + 2 })
        c.send(GossipFrame.describe.encoded)
        #expect(net.run(seconds: 5) { !answers.isEmpty })
        let own = try #require(node.descriptor)
        #expect(answers == [.descriptors([own.bytes])])
    }
}
