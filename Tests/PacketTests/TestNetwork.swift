import PosternCrypto
import PosternPacket

/// A handful of mix nodes in one process, each with its own keyring and processor, for driving packets
/// hop by hop in tests.
final class TestNetwork {
    struct Node {
        let id: Bytes32
        let keyring: Keyring
        let processor: PacketProcessor
    }

    let geometry: Geometry
    let epoch: UInt32
    var nodes: [Node] = []

    init(nodes count: Int, geometry: Geometry = .standard, epoch: UInt32 = 100, replayCapacity: Int = 1024) {
        self.geometry = geometry
        self.epoch = epoch
        for _ in 0..<count {
            let keyring = Keyring(replayCapacity: replayCapacity)
            keyring.rotate(current: epoch)
            nodes.append(Node(id: .random(), keyring: keyring, processor: PacketProcessor(geometry: geometry, keyring: keyring)))
        }
    }

    func route(_ indices: [Int], epoch: UInt32? = nil) -> [RouteHop] {
        indices.map { i in
            let e = epoch ?? self.epoch
            return RouteHop(node: nodes[i].id, link: NextHop(linkKey: nodes[i].id), packetKey: nodes[i].keyring.key(for: e)!.publicKey, epoch: e,
                            delayMicros: UInt32(1000 * (i + 1)))
        }
    }

    func index(of id: Bytes32) -> Int? { nodes.firstIndex { $0.id == id } }
    /// The node a packet's next hop names (the test nodes' link keys are their ids).
    func index(of next: NextHop) -> Int? { index(of: next.linkKey) }

    /// Runs `packet` through node `start` and on along its forward commands. Returns every hop's input,
    /// the final command and the final buffer, or the error and the index of the hop that refused it.
    /// With `limit`, stops after that many hops and returns the buffer as the next hop would receive it
    /// (in `final`, with `next` naming that hop).
    func run(_ packet: [UInt8], from start: Int, limit: Int = .max) -> Trace {
        var trace = Trace()
        var buffer = packet
        var at = start
        while true {
            if trace.hops.count == limit {
                trace.final = buffer
                trace.next = at
                return trace
            }
            trace.inputs.append(buffer)
            trace.hops.append(at)
            do {
                let command = try buffer.withUnsafeMutableBytes { (p) throws(PacketError) in try nodes[at].processor.unwrap(p) }
                if case .forward(let next, _) = command, let n = index(of: next) {
                    at = n
                    continue
                }
                trace.command = command
                trace.final = buffer
                return trace
            } catch {
                trace.error = error as? PacketError
                return trace
            }
        }
    }

    struct Trace {
        var inputs: [[UInt8]] = []
        var hops: [Int] = []
        var command: RoutingCommand?
        var final: [UInt8] = []
        var error: PacketError?
        var next: Int?
        /// Index (into the route) of the hop that refused the packet.
        var failedAt: Int? { error == nil ? nil : hops.count - 1 }
    }
}
