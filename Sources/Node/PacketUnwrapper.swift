import PosternCrypto
import PosternNetwork
import PosternPacket
import PosternSystem

/// Stage "cryptoworker": copies a packet from a link or a client into a pool slot, unwraps it in place
/// (one X25519, `PacketProcessor`), and routes the result: *forward* to the mix queue, *deliver* and
/// *deliver-reply* to the gateway deposits. Nothing is allocated per packet.
final class PacketUnwrapper {
    let processor: PacketProcessor
    let pool: PacketPool
    let queue: MixQueue
    let links: OutgoingLinks
    let deposits: GatewayDeposits
    let counters: NodeCounters
    let replay: ReplayLog

    init(processor: PacketProcessor, pool: PacketPool, queue: MixQueue, links: OutgoingLinks, deposits: GatewayDeposits,
         replay: ReplayLog, counters: NodeCounters) {
        self.replay = replay
        self.processor = processor
        self.pool = pool
        self.queue = queue
        self.links = links
        self.deposits = deposits
        self.counters = counters
    }

    /// Unwraps and routes one packet; the refusal, if the packet was refused (counted in the processor's
    /// stats either way). A full pool drops the packet (counted) without an error.
    @discardableResult
    func handle(_ frame: UnsafeRawBufferPointer) -> PacketError? {
        counters.stats.packetsIn += 1
        guard let slot = pool.take() else { counters.stats.droppedQueueFull += 1; return nil }
        pool.pointer(slot).copyMemory(from: frame.baseAddress!, byteCount: frame.count)
        let command: RoutingCommand
        do { command = try processor.unwrap(pool.buffer(slot)) } catch {
            pool.release(slot)
            return error
        }
        replay.note(processor.lastTag)
        switch command {
        case .forward(let next, let delay):
            // A sender asks for at most 60 s per hop (PROTOCOL.md §4.6); longer would let a few packets
            // hold the pool for an hour.
            guard delay <= Topology.maxHopDelayMicros else {
                counters.stats.droppedDelay += 1
                pool.release(slot)
                return nil
            }
            // The next hop must be one this node can reach: described in its view, or given an address.
            guard next.address != nil || links.directory.isMember(linkKey: next.linkKey) else {
                counters.stats.droppedUnknownHop += 1
                pool.release(slot)
                return nil
            }
            queue.hold(slot, for: delay, then: next)
        case .deliver(let address):
            deposits.deposit(slot, address: address, reply: nil)
        case .deliverReply(let address, let id):
            deposits.deposit(slot, address: address, reply: id)
        }
        return nil
    }
}
