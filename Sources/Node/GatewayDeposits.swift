import PosternCrypto
import PosternMailbox
import PosternNetwork
import PosternPacket
import PosternSystem

/// Stage "provider": final hops at this node. Drop-stream cover ends here unstored; this node's own relay
/// loops come home here; everything else goes into the mailbox as a stored blob (`StoredKind`). Deposits
/// share one commit per `groupCommitNanos` window (or per `maxBatchDeposits`, whichever comes first); a
/// deposit counts as delivered, and a delivery that carries an acknowledgement SURB is answered, only once
/// the commit made it durable (a refused one is answered at once). Expired messages are removed in
/// bounded steps: once a second, or every 10 ms while more are due.
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
    var pendingAcks: [(slot: Int32, next: NextHop)] = []
    /// Deposits (messages, replies) in the open batch: delivered once it commits, lost if it cannot.
    var pendingMessages = 0, pendingReplies = 0
    /// Where the open batch's deposits went (capacity reserved: no allocation per packet), handed to
    /// `onCommitted` once the batch is durable, so held POLLs watching them are answered.
    var pendingAddresses: [Bytes32] = []
    var onCommitted: ([Bytes32]) -> Void = { _ in }
    /// Deposits refused since the last log line, and the last reason (one line per commit window, not
    /// one per packet).
    var refusedUnlogged = 0, lastRefusal = ""
    var nextExpiry: UInt64 = 0
    /// The blob of one deposit (kind ‖ SURB id ‖ payload at most), built here: no allocation per packet.
    let blob: UnsafeMutableRawBufferPointer
    /// The payload cipher's workspace for acknowledgements (allocated once; Adiantum wipes it after use).
    let replyWorkspace = UnsafeMutableRawPointer.allocate(byteCount: SURB.replyWorkspaceBytes, alignment: 64)

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
        blob = .allocate(byteCount: 1 + 16 + geometry.payloadBytes, alignment: 16)
        pendingAcks.reserveCapacity(256)
        pendingAddresses.reserveCapacity(max(256, mailbox?.config.maxBatchDeposits ?? 0))
    }

    deinit {
        blob.deallocate()
        replyWorkspace.deallocate()
    }

    /// A change (a deposit, a client's delete) waits for the next commit.
    func changed() {
        if windowStart == nil { windowStart = EventLoop.now() }
    }

    /// Final hop: blob = kind ‖ data (see `StoredKind`). A reply is stored as reply ‖ SURB id ‖ the
    /// still-encrypted payload.
    func deposit(_ slot: consuming PacketSlot, address: Bytes32, reply: SURBID?) {
        if address == .zero && reply == nil { drop(slot); return }
        if let loops, loops.returned(address) { pool.release(slot); return }
        guard let mailbox else { counters.stats.droppedNotGateway += 1; pool.release(slot); return }
        let payload = pool.pointer(slot) + geometry.headerBytes
        let out = blob.baseAddress!
        let count: Int
        var ack: UnsafeRawPointer?
        if let reply {
            out.storeBytes(of: StoredKind.reply.code, as: UInt8.self)
            var words = reply.words
            withUnsafeBytes(of: &words) { (out + 1).copyMemory(from: $0.baseAddress!, byteCount: 16) }
            (out + 17).copyMemory(from: payload, byteCount: geometry.payloadBytes)
            count = 17 + geometry.payloadBytes
        } else {
            guard let (data, surb) = Delivery.parse(payload + Geometry.zeroPrefixBytes, geometry: geometry) else {
                counters.stats.droppedStore += 1
                pool.release(slot)
                return
            }
            out.storeBytes(of: StoredKind.message.code, as: UInt8.self)
            if let base = data.baseAddress { (out + 1).copyMemory(from: base, byteCount: data.count) }
            count = 1 + data.count
            ack = surb
        }
        do {
            _ = try mailbox.deposit(address: address, blob: UnsafeRawBufferPointer(start: out, count: count))
            changed()
            if reply == nil { pendingMessages += 1 } else { pendingReplies += 1 }
            pendingAddresses.append(address)
            if let ack { answer(ack, .stored, now: false) }
            pool.release(slot)   // the SURB the answer was built from lives in this slot: released only now
            if mailbox.pendingDeposits >= mailbox.config.maxBatchDeposits { commit() }
        } catch {
            counters.stats.droppedStore += 1
            refusedUnlogged += 1
            lastRefusal = error.description
            if let ack { answer(ack, .refused, now: true) }
            pool.release(slot)
            changed()
            // A store failure (not a per-address or size refusal) aborted the open batch: settle it now,
            // so that what it held is counted as lost and the next deposits start a batch of their own.
            if case .store = error { commit() }
        }
    }

    /// A drop (cover) is not stored; one carrying an acknowledgement SURB (a client's payload dummy) is
    /// answered *stored*, with the next commit as a stored message's answer leaves, so that the sender's
    /// acknowledgements come back whether its payload slots carried messages or not.
    func drop(_ slot: consuming PacketSlot) {
        counters.stats.coverDropped += 1
        if let (_, surb) = Delivery.parse(pool.pointer(slot) + geometry.headerBytes + Geometry.zeroPrefixBytes, geometry: geometry),
           let surb, mailbox != nil {
            answer(surb, .stored, now: false)
            changed()
        }
        pool.release(slot)
    }

    /// Builds the acknowledgement for the serialised SURB at `surb` into a fresh pool slot; it leaves
    /// with the next commit (`now`: at once).
    func answer(_ surb: UnsafeRawPointer, _ status: Delivery.Ack, now: Bool) {
        guard let first = SURB.firstHop(serialized: surb), first.linkKey != links.secrets.linkPublic,
              first.address != nil || links.directory.isMember(linkKey: first.linkKey), let slot = pool.take() else {
            counters.stats.acksDropped += 1
            return
        }
        var code = status.code
        withUnsafeBytes(of: &code) {
            SURB.writeReply(serialized: surb, geometry: geometry, message: $0, into: pool.pointer(slot), workspace: replyWorkspace)
        }
        counters.stats.acksSent += 1
        if now { links.send(slot, toHop: first) } else { pendingAcks.append((slot.parked(), first)) }
    }

    var nextDeadline: UInt64? {
        guard mailbox != nil else { return nil }
        guard let windowStart else { return nextExpiry }
        return min(windowStart &+ groupCommitNanos, nextExpiry)
    }

    func fire(now: UInt64) {
        if let windowStart, now &- windowStart >= groupCommitNanos { commit() }
        if let mailbox, now >= nextExpiry {
            let removed = (try? mailbox.expire()) ?? 0
            if removed > 0 { changed() }
            // More due than one step removes: come back soon, so expiry keeps up with deposits.
            nextExpiry = now &+ (removed >= mailbox.config.expiryWorkPerTick ? 10_000_000 : 1_000_000_000)
        }
    }

    /// Commits the window: its deposits count as delivered and the acknowledgements it held leave, or
    /// (the commit failed) the deposits count as lost and the acknowledgements are dropped.
    func commit() {
        windowStart = nil
        do {
            try mailbox?.flush()
            counters.stats.delivered += pendingMessages
            counters.stats.repliesDelivered += pendingReplies
            for ack in pendingAcks { links.send(PacketSlot(ack.slot), toHop: ack.next) }
            if !pendingAddresses.isEmpty { onCommitted(pendingAddresses) }
        } catch {
            // Nothing was confirmed: the senders time out and send again.
            log("warning: mailbox commit failed, \(pendingMessages + pendingReplies) deposits lost: \(error.description)")
            counters.stats.depositsLost += pendingMessages + pendingReplies
            for ack in pendingAcks { pool.release(PacketSlot(ack.slot)) }
            counters.stats.acksDropped += pendingAcks.count
            counters.stats.acksSent -= pendingAcks.count
        }
        pendingMessages = 0
        pendingReplies = 0
        pendingAcks.removeAll(keepingCapacity: true)
        pendingAddresses.removeAll(keepingCapacity: true)
        if refusedUnlogged > 0 {
            log("warning: \(refusedUnlogged) deposit\(refusedUnlogged == 1 ? "" : "s") refused, the last: \(lastRefusal)")
            refusedUnlogged = 0
        }
    }

    /// Commits what is pending and closes the store (releasing its lock); acknowledgements not yet sent
    /// are dropped.
    func stop() {
        if mailbox != nil { commit() }
        for ack in pendingAcks { pool.release(PacketSlot(ack.slot)) }
        pendingAcks.removeAll()
        windowStart = nil
        mailbox = nil
    }
}
