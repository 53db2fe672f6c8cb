import PosternClient
import PosternCover
import PosternCrypto
import PosternNetwork
import PosternPacket
import PosternSystem
import Testing

/// Routes avoid mixes that one's own loops found down (docs/PROTOCOL.md §4.6).
@Suite struct HopHealthTests {
    let a = Bytes32.random(), b = Bytes32.random(), c = Bytes32.random()

    func others() -> [Bytes32] { [.random(), .random()] }

    @Test func threeLostLoopsInARowMakeAMixSuspectUntilTheRetry() {
        var h = HopHealth(retrySeconds: 100)
        #expect(h.record([a] + others(), returned: false, now: 0).isEmpty)
        #expect(h.record([a] + others(), returned: false, now: 1).isEmpty)
        let third = others()
        #expect(h.record([a] + third, returned: false, now: 2) == [a])
        #expect(h.isSuspect(a, now: 2) && h.isSuspect(a, now: 101.9) && !third.contains { h.isSuspect($0, now: 2) })
        #expect(h.suspects(now: 50) == [a])
        // After the retry period a loop may go through it again; lost, it is avoided at once again.
        #expect(!h.isSuspect(a, now: 102))
        #expect(h.record([a], returned: false, now: 103) == [a])
        #expect(h.isSuspect(a, now: 150))
        // Back through it: trusted again, and three new losses are needed.
        h.record([a], returned: true, now: 160)
        #expect(!h.isSuspect(a, now: 160))
        #expect(h.record([a], returned: false, now: 161).isEmpty && h.record([a], returned: false, now: 162).isEmpty)
        #expect(!h.isSuspect(a, now: 162))
    }

    @Test func aLoopThatComesBackInBetweenKeepsAMixTrusted() {
        var h = HopHealth(retrySeconds: 100)
        for t in 0..<10 {
            h.record([a, b], returned: false, now: Double(3 * t))
            h.record([a, b], returned: false, now: Double(3 * t + 1))
            h.record([a, c], returned: true, now: Double(3 * t + 2))
        }
        #expect(!h.isSuspect(a, now: 30) && !h.isSuspect(c, now: 30))
        // b never came back: it is avoided.
        #expect(h.isSuspect(b, now: 30))
    }

    @Test func forgetsMixesThatLeftTheMap() {
        var h = HopHealth(retrySeconds: 100)
        for t in 0..<3 { h.record([a, b], returned: false, now: Double(t)) }
        h.keep(only: [b])
        #expect(!h.isSuspect(a, now: 3) && h.isSuspect(b, now: 3))
        // a's losses went too: one more loss is the first of three.
        #expect(h.record([a], returned: false, now: 4).isEmpty)
    }

    /// Three layers of three mixes: a suspect mix is never chosen while its layer has another, and a
    /// layer whose every mix is suspect is still used (a route through a suspect beats none).
    @Test func routesAvoidSuspectMixesWhileTheirLayerHasAnother() {
        let geometry = NetworkParameters(epochSeconds: 3600, layers: 3).geometry
        let nodes = (1...3).flatMap { layer in
            (0..<3).map { _ in NodeInfo(id: .random(), role: .mix(layer: layer), address: "127.0.0.2:1", linkKey: .random(), packetKey: .random()) }
        }
        let map = Topology(epoch: 1, validUntil: 0, geometry: geometry, nodes: nodes)
        let avoided = Set([map.mixes(layer: 1)[0].id] + map.mixes(layer: 2).map { $0.id })
        var chosen: [Int: Set<Bytes32>] = [:]
        for _ in 0..<300 {
            let path = map.randomMixPath(avoiding: { avoided.contains($0) })
            #expect(path.count == 3)
            for (i, node) in path.enumerated() {
                #expect(node.role == .mix(layer: i + 1))
                chosen[i + 1, default: []].insert(node.id)
            }
        }
        #expect(chosen[1] == Set(map.mixes(layer: 1).dropFirst().map { $0.id }))
        #expect(chosen[2] == Set(map.mixes(layer: 2).map { $0.id }))
        #expect(chosen[3] == Set(map.mixes(layer: 3).map { $0.id }))
    }

    /// Partial views (PROTOCOL.md §5.9): relay loops take a layer's mix from the sample while it holds a
    /// healthy one of that layer; a layer without a sample mix, or whose sample mixes are all suspect,
    /// widens to the layer's healthy mixes (counted), and a layer of suspects only still routes.
    @Test func loopsRouteFromTheSampleAndWidenOnlyWhereALayerHasNoHealthySampleMix() {
        let geometry = NetworkParameters(epochSeconds: 3600, layers: 3).geometry
        let nodes = (1...3).flatMap { layer in
            (0..<3).map { _ in NodeInfo(id: .random(), role: .mix(layer: layer), address: "127.0.0.2:1", linkKey: .random(), packetKey: .random()) }
        }
        let map = Topology(epoch: 1, validUntil: 0, geometry: geometry, nodes: nodes)
        let (l1, l2, l3) = (map.mixes(layer: 1).map { $0.id }, map.mixes(layer: 2).map { $0.id }, map.mixes(layer: 3).map { $0.id })
        // Layer 1: two sample mixes, one suspect; layer 2: none in the sample; layer 3: one, suspect.
        let sample = Set([l1[0], l1[1], l3[0]])
        let suspect = Set([l1[1], l3[0]])
        var chosen: [Int: Set<Bytes32>] = [:], widened = 0
        for _ in 0..<300 {
            let (path, w) = map.randomMixPath(preferring: { sample.contains($0) }, avoiding: { suspect.contains($0) })
            widened += w
            for (i, node) in path.enumerated() { chosen[i + 1, default: []].insert(node.id) }
        }
        #expect(chosen[1] == [l1[0]])
        #expect(chosen[2] == Set(l2))
        #expect(chosen[3] == Set(l3.dropFirst()))
        #expect(widened == 600)   // layers 2 and 3, every time
        // Every mix of layer 3 suspect: its preferred one is used.
        let all3 = Set(l3)
        for _ in 0..<50 {
            let (path, _) = map.randomMixPath(preferring: { sample.contains($0) }, avoiding: { all3.contains($0) })
            #expect(path[2].id == l3[0])
        }
    }

    @Test func theLoopMonitorHandsBackThePathOfEachLoopBackOrGivenUp() {
        let m = LoopMonitor(timeout: 10)
        m.sent([1], at: 0, through: [a])
        m.sent([2], at: 5, through: [b, c])
        #expect(m.returned([2]) == [b, c])
        #expect(m.returned([2]) == nil)
        #expect(m.check(now: 9).isEmpty)
        #expect(m.check(now: 11) == [[a]])
        #expect(m.lost == 1 && m.returned == 1 && m.check(now: 100).isEmpty)
    }

    /// A client's message routes leave out a mix its loops found down (the other mixes of its layer
    /// carry them all).
    @Test func aCouriersRoutesLeaveOutSuspectMixes() throws {
        let params = NetworkParameters(epochSeconds: 3600, layers: 3)
        let now = Clock.wallSeconds(), e = params.epoch(at: now)
        let mixes = (0..<6).map { _ in TestNode() }, gateways = (0..<2).map { _ in TestNode() }
        let descriptors = mixes.map { $0.descriptor(params, published: now, validUntil: now + 3600, epochs: [e, e + 1]).bytes }
            + gateways.map { $0.descriptor(params, roles: .gateway, published: now, validUntil: now + 3600, epochs: [e, e + 1]).bytes }
        let network = ClientNetwork(parameters: params, bootstrap: Peer(address: "127.0.0.2:1", linkKey: gateways[0].link),
                                    descriptors: descriptors)
        let map = network.topology
        #expect(map.isRoutable(layers: 3))
        let courier = Courier(network: network, ownGateway: gateways[0].id, meanDelayMicros: 1000)
        let down = try #require(map.mixes(layer: 2).first?.id)
        #expect(map.mixes(layer: 2).count >= 2)
        for _ in 0..<3 { courier.health.record([down], returned: false, now: Clock.wallTime()) }
        var used = Set<Bytes32>()
        for _ in 0..<40 {
            let built = try courier.packet([1, 2, 3], to: .random(), at: gateways[1].id, acknowledge: true)
            #expect(built.mixes.count == 3 && built.ack != nil)
            used.formUnion(built.mixes)
        }
        #expect(!used.contains(down) && used.count == 5, "\(used.count)")
    }
}
