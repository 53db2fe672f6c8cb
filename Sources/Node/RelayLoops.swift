import PosternCover
import PosternCrypto
import PosternNetwork
import PosternPacket
import PosternSystem

/// Relay loops (Loopix λM): at the scheduler's Poisson times, a packet through one mix per layer and back
/// to this node's own address space; one that does not come back within the timeout counts as lost, and
/// sustained loss is logged. Routes come from this epoch's map (`Topology.randomMixPath`) like every
/// client's, avoiding mixes that lost three loops in a row (`HopHealth`, docs/PROTOCOL.md §4.6); with a
/// partial view, from the sample's mixes, widened to every mix held only for a layer where the sample
/// has no healthy one (§5.9). While the map cannot route (a layer empty) no loop is sent.
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
    var health: HopHealth
    let log: (String) -> Void
    var healthEpoch: UInt32 = 0

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
        health = HopHealth(retrySeconds: HopHealth.retrySeconds(epochSeconds: directory.parameters.epochSeconds))
        self.log = log
    }

    static func wall() -> Double { Clock.wallTime() }

    /// True when a packet delivered to `address` here is one of our loops coming home.
    func returned(_ address: Bytes32) -> Bool {
        guard let path = monitor.returned(address.bytes) else { return false }
        counters.stats.loopsReturned += 1
        outcome(path, returned: true, now: Self.wall())
        return true
    }

    /// Tells the mixes' health what became of a loop through `path`.
    func outcome(_ path: [Bytes32], returned: Bool, now: Double) {
        for id in health.record(path, returned: returned, now: now) {
            log("warning: relay loops: mix \(id.hex.prefix(16))… lost \(HopHealth.suspectAfter) loops in a row; routes avoid it for \(Int(health.retrySeconds)) s")
        }
    }

    var nextDeadline: UInt64? {
        EventLoop.now() &+ UInt64(max(0, scheduler.nextTime - Self.wall()) * 1e9)
    }

    func fire(now: UInt64) {
        let wall = Self.wall()
        for path in monitor.check(now: wall) { outcome(path, returned: false, now: wall) }
        counters.stats.loopsLost = monitor.lost
        let topology = directory.topology
        if topology.epoch != healthEpoch {
            health.keep(only: Set(topology.nodes.map { $0.id }))
            healthEpoch = topology.epoch
        }
        let me = topology.nodes.first { $0.id == myID }
        var sample: Set<Bytes32>? = nil
        if scheduler.nextTime <= wall, let s = directory.sampling { sample = Set(s.brahms.sample.values) }
        while scheduler.nextTime <= wall {
            _ = scheduler.take()
            guard let me, topology.isRoutable(layers: directory.parameters.layers) else { continue }
            // Partial views: from the sample where a layer has a healthy mix of it (§5.9), not from the
            // view, which pushes fill.
            let (mixes, widened) = topology.randomMixPath(preferring: { sample?.contains($0) ?? true },
                                                          avoiding: { health.isSuspect($0, now: wall) })
            counters.stats.loopHopsWidened += widened
            counters.stats.loopHops += mixes.count
            let hops = (mixes + [me]).map { topology.hop($0, meanDelayMicros: meanDelayMicros) }
            let address = Bytes32.random()
            guard let slot = pool.take() else { counters.stats.droppedQueueFull += 1; continue }
            guard let first = links.index(ofNode: hops[0].node),
                  (try? builder.build(route: hops, to: .mailbox(address), message: UnsafeRawBufferPointer(start: nil, count: 0),
                                      into: pool.pointer(slot))) != nil
            else {
                pool.release(slot)
                continue
            }
            monitor.sent(address.bytes, at: wall, through: mixes.map { $0.id })
            counters.stats.loopsSent += 1
            links.send(slot, to: first)
        }
    }
}
