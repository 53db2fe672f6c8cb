import PosternCover
import PosternCrypto
import PosternNetwork
import PosternPacket
import PosternSystem

/// Relay loops (Loopix λM): at the scheduler's Poisson times, a packet through one mix per layer and back
/// to this node's own address space; one that does not come back within the timeout counts as lost, and
/// sustained loss is logged. Routes come from this epoch's map (`Topology.randomMixPath`) like every
/// client's; while the map cannot route (a layer empty) no loop is sent.
final class RelayLoops: Timed {
    let directory: Directory
    let myID: Bytes32
    let pool: PacketPool
    let links: OutgoingLinks
    let counters: NodeCounters
    let meanDelayMicros: Double
    let scheduler: CoverScheduler
    let monitor: LoopMonitor
    let builder: PacketBuilder

    init(cover: CoverConfig, directory: Directory, myID: Bytes32, meanDelayMicros: Double, pool: PacketPool,
         links: OutgoingLinks, counters: NodeCounters, log: @escaping (String) -> Void) {
        self.directory = directory
        self.myID = myID
        self.pool = pool
        self.links = links
        self.counters = counters
        self.meanDelayMicros = meanDelayMicros
        scheduler = CoverScheduler(config: cover, start: Self.wall())
        monitor = LoopMonitor(timeout: cover.loopTimeoutSeconds)
        monitor.onSustainedLoss = { lost in log("warning: \(lost) of the last 20 relay loops did not return") }
        builder = PacketBuilder(geometry: directory.parameters.geometry)
    }

    static func wall() -> Double { Double(Clock.wallNanoseconds()) / 1e9 }

    /// True when a packet delivered to `address` here is one of our loops coming home.
    func returned(_ address: Bytes32) -> Bool {
        guard monitor.returned(address.bytes) else { return false }
        counters.stats.loopsReturned += 1
        return true
    }

    var nextDeadline: UInt64? {
        EventLoop.now() &+ UInt64(max(0, scheduler.nextTime - Self.wall()) * 1e9)
    }

    func fire(now: UInt64) {
        let wall = Self.wall()
        monitor.check(now: wall)
        counters.stats.loopsLost = monitor.lost
        let topology = directory.topology
        let me = topology.nodes.first { $0.id == myID }
        while scheduler.nextTime <= wall {
            _ = scheduler.take()
            guard let me, topology.isRoutable(layers: directory.parameters.layers) else { continue }
            let hops = (topology.randomMixPath() + [me]).map { topology.hop($0, meanDelayMicros: meanDelayMicros) }
            let address = Bytes32.random()
            guard let slot = pool.take() else { counters.stats.droppedQueueFull += 1; continue }
            guard let first = links.index(of: hops[0].node),
                  (try? builder.build(route: hops, to: .mailbox(address), message: UnsafeRawBufferPointer(start: nil, count: 0),
                                      into: pool.pointer(slot))) != nil
            else {
                pool.release(slot)
                continue
            }
            monitor.sent(address.bytes, at: wall)
            counters.stats.loopsSent += 1
            links.send(slot, to: first)
        }
    }
}
