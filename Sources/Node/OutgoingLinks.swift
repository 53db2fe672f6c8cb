import PosternCrypto
import PosternLink
import PosternNetwork
import PosternPacket
import PosternSystem

/// Which neighbour an outgoing packet goes to: an index into `OutgoingLinks` (the topology's node order),
/// never a node id.
struct LinkIndex: Equatable {
    let rawValue: Int32
    init(_ index: Int) { rawValue = Int32(index) }
    var index: Int { Int(rawValue) }
}

/// Stage "outgoing": the connections this node dials to its neighbours (Noise XK with the neighbour's
/// link key from the topology). Connected on first use, kept open, reconnected with exponential backoff
/// (100 ms … 30 s). Packets wait in a bounded per-link queue while the link is down.
final class OutgoingLinks {
    final class Link {
        let node: NodeInfo
        var connection: Connection?
        /// Pool slots waiting for the link to come up (parked by index; see `PacketSlot`).
        var pending: [Int32] = []
        var backoff: UInt64 = 100_000_000
        var retryAt: UInt64 = 0
        var retryScheduled = false

        init(node: NodeInfo) { self.node = node }
    }

    let loop: EventLoop
    let keys: NodeKeys
    let geometry: Geometry
    let options: NodeOptions
    let pool: PacketPool
    let counters: NodeCounters
    let log: (String) -> Void
    var links: [Link]
    var stopped = false

    init(topology: Topology, loop: EventLoop, keys: NodeKeys, options: NodeOptions, pool: PacketPool,
         counters: NodeCounters, log: @escaping (String) -> Void) {
        self.loop = loop
        self.keys = keys
        geometry = topology.geometry
        self.options = options
        self.pool = pool
        self.counters = counters
        self.log = log
        links = topology.nodes.map { Link(node: $0) }
    }

    /// The link to the node with this id, if it is in the topology.
    func index(of id: Bytes32) -> LinkIndex? {
        links.firstIndex { $0.node.id == id }.map { LinkIndex($0) }
    }

    var up: Int { links.reduce(0) { $0 + (($1.connection?.isEstablished ?? false) ? 1 : 0) } }

    /// Sends the packet in `slot` to neighbour `to` and releases the slot, or keeps it queued while the
    /// link comes up (dropped, counted, when that queue is full).
    func send(_ slot: consuming PacketSlot, to target: LinkIndex) {
        let link = links[target.index]
        if let c = link.connection, c.isEstablished {
            if c.send(UnsafeRawBufferPointer(pool.buffer(slot))) { counters.stats.packetsOut += 1 } else { counters.stats.droppedLinkQueue += 1 }
            pool.release(slot)
            return
        }
        guard link.pending.count < options.maxPendingPerLink, !stopped else {
            counters.stats.droppedLinkQueue += 1
            pool.release(slot)
            return
        }
        link.pending.append(slot.parked())
        connect(target)
    }

    func connect(_ target: LinkIndex) {
        let link = links[target.index]
        guard link.connection == nil, !stopped else { return }
        let now = EventLoop.now()
        if now < link.retryAt {
            if !link.retryScheduled {
                link.retryScheduled = true
                loop.after(link.retryAt - now) { [self] in link.retryScheduled = false; self.connect(target) }
            }
            return
        }
        guard let (host, port) = TCP.parse(link.node.address),
              let fd = try? TCP.connect(host, port),
              let hs = try? NoiseHandshake(pattern: .XK, initiator: true, prologue: options.prologue,
                                           staticKey: keys.linkSecret.bytes, remoteStatic: link.node.linkKey.bytes)
        else {
            scheduleRetry(target)
            return
        }
        let c = Connection(fd: fd, loop: loop, handshake: hs, maxFrame: geometry.packetBytes + 16,
                           maxQueued: 1 << 20, connecting: true)
        link.connection = c
        c.onEstablished = { [self] c in
            link.backoff = 100_000_000
            self.counters.stats.linksUp = self.up
            for index in link.pending {
                let slot = PacketSlot(index)
                if c.send(UnsafeRawBufferPointer(self.pool.buffer(slot))) { self.counters.stats.packetsOut += 1 } else { self.counters.stats.droppedLinkQueue += 1 }
                self.pool.release(slot)
            }
            link.pending.removeAll(keepingCapacity: true)
        }
        // Nothing is expected from the responder after the handshake; anything else is a protocol error.
        c.onMessage = { c, _ in c.close("unexpected frame on an outgoing link") }
        c.onClose = { [self] _, reason in
            link.connection = nil
            self.counters.stats.linksUp = self.up
            if !self.stopped {
                self.log("link to \(link.node.id.hex.prefix(12)) closed: \(reason)")
                self.scheduleRetry(target)
            }
        }
        c.start()
    }

    func scheduleRetry(_ target: LinkIndex) {
        let link = links[target.index]
        link.retryAt = EventLoop.now() &+ link.backoff
        link.backoff = min(link.backoff * 2, 30_000_000_000)
        if !link.pending.isEmpty { connect(target) }
    }

    /// Closes every link; packets still waiting for one go back to the pool (lost, like any packet in a
    /// stopped relay).
    func stop() {
        stopped = true
        for link in links {
            link.connection?.close("node stopping")
            link.connection = nil
            for index in link.pending { pool.release(PacketSlot(index)) }
            link.pending.removeAll()
        }
    }
}
