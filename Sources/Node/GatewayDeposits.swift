import PosternCrypto
import PosternMailbox
import PosternNetwork
import PosternPacket
import PosternSystem

/// Stage "provider": final hops at this node. Drop-stream cover ends here unstored; this node's own relay
/// loops come home here; everything else goes into the mailbox as a stored blob (`StoredKind`). Deposits
/// share one commit per `groupCommitNanos` window; a delivery that carries an acknowledgement SURB is
/// answered only once its deposit is durable (or at once, when the store refused it). Expired messages
/// are removed once a second, in bounded steps.
final class GatewayDeposits: Timed {
    let myID: Bytes32
    let geometry: Geometry
    let pool: PacketPool
    let links: OutgoingLinks
    let counters: NodeCounters
    let groupCommitNanos: UInt64
    let log: (String) -> Void
    /// nil at a mix (final hops are dropped as `not_gateway`), and after `stop`.
    private(set) var mailbox: MailboxStore?
    var loops: RelayLoops?
    /// Start of the open commit window (the first uncommitted change), if any.
    var windowStart: UInt64?
    /// Acknowledgement packets (built in pool slots, parked by index) waiting for the commit of the
    /// deposits they confirm.
    var pendingAcks: [(slot: Int32, next: Bytes32)] = []
    var nextExpiry: UInt64 = 0

    init(myID: Bytes32, geometry: Geometry, mailbox: MailboxStore?, groupCommitNanos: UInt64, pool: PacketPool,
         links: OutgoingLinks, counters: NodeCounters, log: @escaping (String) -> Void) {
        self.myID = myID
        self.geometry = geometry
        self.mailbox = mailbox
        self.groupCommitNanos = groupCommitNanos
        self.pool = pool
        self.links = links
        self.counters = counters
        self.log = log
        pendingAcks.reserveCapacity(256)
    }

    /// A change (a deposit, a client's delete) waits for the next commit.
    func changed() {
        if windowStart == nil { windowStart = EventLoop.now() }
    }

    /// Final hop: blob = kind ‖ data (see `StoredKind`). A reply is stored as reply ‖ SURB id ‖ the
    /// still-encrypted payload.
    func deposit(_ slot: consuming PacketSlot, address: Bytes32, reply: SURBID?) {
        if address == .zero && reply == nil { counters.stats.coverDropped += 1; pool.release(slot); return }
        if let loops, loops.returned(address) { pool.release(slot); return }
        guard let mailbox else { counters.stats.droppedNotGateway += 1; pool.release(slot); return }
        let payload = pool.pointer(slot) + geometry.headerBytes
        var blob: [UInt8]
        var ack: UnsafeRawPointer?
        if let reply {
            blob = [StoredKind.reply.code]
            var words = reply.words
            withUnsafeBytes(of: &words) { blob += $0 }
            blob += UnsafeRawBufferPointer(start: payload, count: geometry.payloadBytes)
        } else {
            guard let (data, surb) = Delivery.parse(payload + Geometry.zeroPrefixBytes, geometry: geometry) else {
                counters.stats.droppedStore += 1
                pool.release(slot)
                return
            }
            blob = [StoredKind.message.code] + data
            ack = surb
        }
        do {
            _ = try mailbox.deposit(address: address, blob: blob)
            changed()
            if reply == nil { counters.stats.delivered += 1 } else { counters.stats.repliesDelivered += 1 }
            if let ack { answer(ack, .stored, now: false) }
        } catch {
            counters.stats.droppedStore += 1
            log("deposit refused: \(error.description)")
            if let ack { answer(ack, .refused, now: true) }
        }
        pool.release(slot)   // the SURB the answer was built from lives in this slot: released only now
    }

    /// Builds the acknowledgement for the serialised SURB at `surb` into a fresh pool slot; it leaves
    /// with the next commit (`now`: at once).
    func answer(_ surb: UnsafeRawPointer, _ status: Delivery.Ack, now: Bool) {
        let first = SURB.firstHop(serialized: surb)
        guard first != myID, links.directory.knows(first), let slot = pool.take() else {
            counters.stats.acksDropped += 1
            return
        }
        var code = status.code
        withUnsafeBytes(of: &code) { SURB.writeReply(serialized: surb, geometry: geometry, message: $0, into: pool.pointer(slot)) }
        counters.stats.acksSent += 1
        if now { links.send(slot, toNode: first) } else { pendingAcks.append((slot.parked(), first)) }
    }

    var nextDeadline: UInt64? {
        guard mailbox != nil else { return nil }
        guard let windowStart else { return nextExpiry }
        return min(windowStart &+ groupCommitNanos, nextExpiry)
    }

    func fire(now: UInt64) {
        if let windowStart, now &- windowStart >= groupCommitNanos { commit() }
        if let mailbox, now >= nextExpiry {
            nextExpiry = now &+ 1_000_000_000
            if let removed = try? mailbox.expire(), removed > 0 { changed() }
        }
    }

    /// Commits the window; the acknowledgements it held leave only if the commit succeeded.
    func commit() {
        windowStart = nil
        do {
            try mailbox?.flush()
            for ack in pendingAcks { links.send(PacketSlot(ack.slot), toNode: ack.next) }
        } catch {
            // Nothing was confirmed: the senders time out and send again.
            log("mailbox commit failed: \(error.description)")
            for ack in pendingAcks { pool.release(PacketSlot(ack.slot)) }
            counters.stats.acksDropped += pendingAcks.count
            counters.stats.acksSent -= pendingAcks.count
        }
        pendingAcks.removeAll(keepingCapacity: true)
    }

    /// Commits what is pending and closes the store (releasing its lock); acknowledgements not yet sent
    /// are dropped.
    func stop() {
        try? mailbox?.flush()
        for ack in pendingAcks { pool.release(PacketSlot(ack.slot)) }
        pendingAcks.removeAll()
        windowStart = nil
        mailbox = nil
    }
}
