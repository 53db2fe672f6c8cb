import PosternCrypto
import PosternPacket
import PosternSystem

/// Route choice, the one place clients (`Courier`), nodes (relay loops) and the anonymity simulator pick
/// paths through the map (docs/PROTOCOL.md §4.6): one mix per layer, each uniform within its layer, and an
/// exponential delay per hop chosen by the sender. `random` gives 64 random bits: the kernel's CSPRNG by
/// default, a seeded generator in the simulator (so it runs this code, not a copy of it).
extension Topology {
    /// One mix from every layer, layer 1 first, each chosen uniformly at random among the layer's mixes
    /// that `avoid` does not name (`HopHealth`; among all of the layer's if it names every one: a route
    /// through a suspect mix is better than none).
    public func randomMixPath(avoiding avoid: (Bytes32) -> Bool = { _ in false },
                              random: () -> UInt64 = { Random.uint64() }) -> [NodeInfo] {
        randomMixPath(preferring: { _ in true }, avoiding: avoid, random: random).path
    }

    /// One mix from every layer as above, but from the mixes `prefer` names (a node's sample, §5.9) where
    /// the layer has a healthy one; else from the layer's healthy mixes; else from its preferred ones;
    /// else from all of them. `widened`: how many layers had no healthy preferred mix.
    public func randomMixPath(preferring prefer: (Bytes32) -> Bool, avoiding avoid: (Bytes32) -> Bool = { _ in false },
                              random: () -> UInt64 = { Random.uint64() }) -> (path: [NodeInfo], widened: Int) {
        var widened = 0
        let path = (1...max(1, layers)).map { layer in
            let all = mixes(layer: layer)
            let preferred = all.filter { prefer($0.id) }
            var from = preferred.filter { !avoid($0.id) }
            if from.isEmpty {
                widened += 1
                from = all.filter { !avoid($0.id) }
                if from.isEmpty { from = preferred.isEmpty ? all : preferred }
            }
            return from[Self.uniformIndex(from.count, random())]
        }
        return (path, widened)
    }

    /// A gateway chosen uniformly at random (where a drop dies); nil if the map has none.
    public func randomGateway(random: () -> UInt64 = { Random.uint64() }) -> NodeInfo? {
        let all = gateways
        return all.isEmpty ? nil : all[Self.uniformIndex(all.count, random())]
    }

    /// The hop for `node` in this topology's epoch, held for an exponentially distributed delay of mean
    /// `meanDelayMicros` (capped at `maxHopDelayMicros`).
    public func hop(_ node: NodeInfo, meanDelayMicros: Double, random: () -> UInt64 = { Random.uint64() }) -> RouteHop {
        RouteHop(node: node.id, link: node.nextHop, packetKey: node.packetKey, epoch: epoch,
                 delayMicros: Self.hopDelayMicros(mean: meanDelayMicros, random: random))
    }

    /// The delay a sender asks one hop for: exponential with mean `mean` µs, capped at `maxHopDelayMicros`.
    public static func hopDelayMicros(mean: Double, random: () -> UInt64 = { Random.uint64() }) -> UInt32 {
        UInt32(min(Exponential.sample(mean: mean, uniform53: random()), Double(maxHopDelayMicros)))
    }

    /// An index in 0..<count from 64 random bits (the high half of bits × count: bias below count/2⁶⁴).
    public static func uniformIndex(_ count: Int, _ bits: UInt64) -> Int {
        Int(bits.multipliedFullWidth(by: UInt64(count)).high)
    }

    /// The longest delay a sender asks one hop for (60 s).
    public static let maxHopDelayMicros: UInt32 = 60_000_000
}
