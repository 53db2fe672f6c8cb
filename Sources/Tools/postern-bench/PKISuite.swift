import PosternCrypto
import PosternNetwork
import PosternPacket
import PosternSystem

/// Suite `pki`: the living network's records and gossip (docs/BENCH.md).
///
/// - `descriptor-bytes`: a gateway's descriptor with three packet keys, as published.
/// - `descriptor-verify`: parse + Ed25519 verify + network/clock checks of one descriptor, against
///   `x25519` (crypto suite).
/// - `view-build-1k`, `view-build-10k`: this epoch's map (freshness, layer deal, sort) from a view of that
///   many verified descriptors.
/// - `push-work-try`: one nonce tried for a push's proof of work (`PushWork`, one BLAKE2b-256 of 126
///   bytes; PROTOCOL.md §5.9), against `x25519`: a push at b bits costs about 2^b of these.
/// - `gossip-bytes-per-node-epoch-1k`, `gossip-coverage-1k`: a deterministic simulation of 1 000 nodes
///   gossiping for four epochs (model below), the bytes one node sends and receives per epoch, and the
///   share of nodes holding every other node's current descriptor at the end of each epoch.
func pkiSuite() -> Suite {
    Suite(name: "pki") {
        let network = NetworkParameters(epochSeconds: 3600, layers: 3)
        let now = Clock.wallSeconds(), epoch = network.epoch(at: now)
        func descriptor(_ i: Int) -> NodeDescriptor {
            let seed = (0..<32).map { UInt8(truncatingIfNeeded: i >> ($0 % 4 * 8)) ^ UInt8($0) }
            return NodeDescriptor(identityKey: Ed25519.KeyPair(seed: seed), network: network, linkKey: Bytes32.random(),
                                  roles: i % 10 == 0 ? .gateway : .mix, published: now, validUntil: now + 3 * 3600,
                                  address: "203.0.113.\(i % 250):7000", clientAddress: i % 10 == 0 ? "203.0.113.\(i % 250):7100" : nil,
                                  packetKeys: [(epoch, .random()), (epoch + 1, .random()), (epoch + 2, .random())],
                                  software: "postern 0.2.0", certificate: nil)
        }
        let sample = descriptor(0)
        let size = BenchLine.value("descriptor-bytes") { (Double(sample.bytes.count), "bytes") }
        var verify = BenchLine.timed("descriptor-verify", baseline: "x25519") { n in
            for _ in 0..<n { blackHoleInt((try? NodeDescriptor.accept(sample.bytes, network: network, now: now)) == nil ? 0 : 1) }
        }
        verify.setup = {}
        var views: [Int: NetworkView] = [:]
        func build(_ count: Int) -> BenchLine {
            var line = BenchLine.timed(count >= 10_000 ? "view-build-10k" : "view-build-1k") { n in
                for _ in 0..<n { blackHoleInt(views[count]!.topology(epoch: epoch, now: now).nodes.count) }
            }
            line.setup = {
                guard views[count] == nil else { return }
                var v = NetworkView(parameters: network)
                for i in 0..<count { v.insert(descriptor(i)) }
                views[count] = v
            }
            return line
        }
        var work = PushWork.Input(network: network.id, sender: sample.id, receiver: descriptor(1).id, slot: 1)
        var nonce: UInt64 = 0
        let pushWork = BenchLine.timed("push-work-try", baseline: "x25519") { n in
            for _ in 0..<n {
                blackHoleInt(Int(truncatingIfNeeded: work.value(nonce: nonce)))
                nonce &+= 1
            }
        }
        let gossip = GossipSimulation(nodes: 1000, descriptorBytes: sample.bytes.count, packetBytes: network.geometry.packetBytes)
        let bytes = BenchLine.value("gossip-bytes-per-node-epoch-1k") {
            gossip.run()
            return (gossip.bytesPerNodePerEpoch / 1024, "KiB")
        }
        let coverage = BenchLine.value("gossip-coverage-1k") {
            gossip.run()
            return (gossip.coverage, "fraction")
        }
        return [size, verify, pushWork, build(1000), build(10_000), bytes, coverage]
    }
}

/// The gossip model: N nodes, each holding every other node's descriptor (full views, as built); at
/// each epoch boundary every node publishes a new descriptor (`descriptorBytes`); an epoch has eight
/// gossip intervals, and in each every node starts one push-pull round (PROTOCOL.md §5.6) with a node
/// chosen uniformly (from a seeded generator: the run is deterministic). A round costs both digests (40
/// bytes per held descriptor, 12 bytes per frame header, frames of at most one packet − 1 bytes) and
/// every descriptor either side lacks (2 + size each, 2 bytes per frame header), each frame plus 18
/// bytes of link framing (length and Noise tag). Counted once at the sender and once at the receiver.
final class GossipSimulation {
    let nodes: Int, descriptorBytes: Int, packetBytes: Int
    private(set) var bytesPerNodePerEpoch = 0.0, coverage = 0.0
    var done = false

    init(nodes: Int, descriptorBytes: Int, packetBytes: Int) {
        self.nodes = nodes
        self.descriptorBytes = descriptorBytes
        self.packetBytes = packetBytes
    }

    func run() {
        guard !done else { return }
        done = true
        let random = SeededRandom(seed: [UInt8](repeating: 7, count: 32))
        func pick(_ n: Int) -> Int {
            var word: UInt32 = 0
            withUnsafeMutableBytes(of: &word) { random.fill($0.baseAddress!, count: 4) }
            return Int(word % UInt32(n))
        }
        // known[a][b] = the epoch of b's descriptor that a holds.
        var known = [[Int32]](repeating: [Int32](repeating: 0, count: nodes), count: nodes)
        var traffic = [Int](repeating: 0, count: nodes)
        let limit = packetBytes - 1
        let entriesPerFrame = (limit - 12) / 40
        func digestBytes(_ entries: Int) -> Int {
            let frames = max(1, (entries + entriesPerFrame - 1) / entriesPerFrame)
            return entries * 40 + frames * (12 + 18)
        }
        func descriptorsBytes(_ count: Int) -> Int {
            guard count > 0 else { return 0 }
            let perFrame = max(1, (limit - 2) / (2 + descriptorBytes))
            let frames = (count + perFrame - 1) / perFrame
            return count * (2 + descriptorBytes) + frames * (2 + 18)
        }
        let epochs = 4
        var coverages: [Double] = []
        for epoch in 1...epochs {
            for a in 0..<nodes { known[a][a] = Int32(epoch) }   // everyone republishes
            let before = traffic.reduce(0, +)
            for _ in 0..<8 {
                for a in 0..<nodes {
                    var b = pick(nodes - 1)
                    if b >= a { b += 1 }
                    var aLacks = 0, bLacks = 0
                    for x in 0..<nodes {
                        let ka = known[a][x], kb = known[b][x]
                        if kb > ka { aLacks += 1; known[a][x] = kb } else if ka > kb { bLacks += 1; known[b][x] = ka }
                    }
                    let round = 2 * digestBytes(nodes) + descriptorsBytes(aLacks) + descriptorsBytes(bLacks)
                    traffic[a] += round
                    traffic[b] += round
                }
            }
            if epoch > 1 { bytesPerNodePerEpoch += Double(traffic.reduce(0, +) - before) / Double(nodes) / Double(epochs - 1) }
            var complete = 0
            for a in 0..<nodes where known[a].allSatisfy({ $0 == Int32(epoch) }) { complete += 1 }
            coverages.append(Double(complete) / Double(nodes))
        }
        coverage = coverages.min() ?? 0
    }
}

/// Keeps a result alive so the measured work is not optimised away.
@inline(never)
func blackHoleInt(_ value: Int) { withExtendedLifetime(value) {} }
