import PosternCrypto
import PosternPacket
import PosternSystem

/// Stage "scheduler": holds every forwarded packet in its pool slot for the delay its sender chose, in a
/// timer heap (O(log n), FIFO among equal deadlines), then hands it to the outgoing links for the next
/// node (by link key and address, resolved when the packet leaves: the view may change while it waits). The queue owns the
/// slots it holds; memory is bounded by the pool.
final class MixQueue: Timed {
    let pool: PacketPool
    let links: OutgoingLinks
    let counters: NodeCounters
    var delays = TimerHeap<(slot: Int32, next: NextHop)>(capacity: 1024)

    init(pool: PacketPool, links: OutgoingLinks, counters: NodeCounters) {
        self.pool = pool
        self.links = links
        self.counters = counters
    }

    var count: Int { delays.count }

    /// Holds `slot` until `delayMicros` from now, then sends it to `next`.
    func hold(_ slot: consuming PacketSlot, for delayMicros: UInt32, then next: NextHop) {
        delays.insert((slot.parked(), next), deadline: EventLoop.now() &+ UInt64(delayMicros) * 1000)
        counters.stats.queueDepth = delays.count
    }

    var nextDeadline: UInt64? { delays.nextDeadline }

    func fire(now: UInt64) {
        while let due = delays.popDue(now: now) {
            links.send(PacketSlot(due.value.slot), toHop: due.value.next)
        }
        counters.stats.queueDepth = delays.count
    }

    /// Drops everything held (at shutdown); returns how many packets that was.
    func drain() -> Int {
        let held = delays.drain()
        for entry in held { pool.release(PacketSlot(entry.slot)) }
        counters.stats.queueDepth = 0
        return held.count
    }
}
