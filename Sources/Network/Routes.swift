import PosternCrypto
import PosternPacket
import PosternSystem

/// Route choice, the one place clients (`Courier`) and nodes (relay loops) pick paths through the map
/// (docs/PROTOCOL.md §4.6): one mix per layer, each uniform within its layer, and an exponential delay
/// per hop chosen by the sender.
extension Topology {
    /// One mix from every layer, layer 1 first, each chosen uniformly at random.
    public func randomMixPath() -> [NodeInfo] {
        (1...max(1, layers)).map { layer in
            let mixes = mixes(layer: layer)
            return mixes[Int(Random.uniform(UInt32(mixes.count)))]
        }
    }

    /// The hop for `node` in this topology's epoch, held for an exponentially distributed delay of mean
    /// `meanDelayMicros` (capped at `maxHopDelayMicros`).
    public func hop(_ node: NodeInfo, meanDelayMicros: Double) -> RouteHop {
        let delay = Exponential.sample(mean: meanDelayMicros, uniform53: Random.uint64())
        return RouteHop(node: node.id, packetKey: node.packetKey, epoch: epoch,
                        delayMicros: UInt32(min(delay, Double(Self.maxHopDelayMicros))))
    }

    /// The longest delay a sender asks one hop for (60 s).
    public static let maxHopDelayMicros: UInt32 = 60_000_000
}
