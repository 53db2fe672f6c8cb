import PosternCrypto
import PosternLink
import PosternNetwork
import PosternPacket
import PosternSystem

/// Which neighbour an outgoing packet goes to: an index into `OutgoingLinks` (valid until the next prune),
/// never a node id.
struct LinkIndex: Equatable {
    let rawValue: Int32
    init(_ index: Int) { rawValue = Int32(index) }
    var index: Int { Int(rawValue) }
}

/// Stage "outgoing": the connections this node dials to other nodes (Noise XK with the peer's link key),
/// keyed by link key. Connected on first use, kept open, reconnected with exponential backoff
/// (100 ms … 30 s). Packets wait in a bounded per-link queue while the link is down; control frames
/// (gossip) wait in a small one. A link whose node left the view is closed.
///
/// A packet names its next hop by link key and, usually, an address (format 3, PROTOCOL.md §2.2): a node
/// the view describes is dialled at its descriptor's address; one it does not is dialled at the packet's
/// address ("undescribed" links: at most `NodeOptions.maxUndescribedLinks`, the least recently used closed
/// first to make room), and the handshake proves the key.
final class OutgoingLinks {
    final class Link {
        let linkKey: Bytes32
        var address: String
        var connection: Connection?
        /// Pool slots waiting for the link to come up (parked by index; see `PacketSlot`).
        var pending: [Int32] = []
        var pendingControl: [[UInt8]] = []
        var backoff: UInt64 = 100_000_000
        var retryAt: UInt64 = 0
        var retryScheduled = false
        /// A host name is being resolved for the next connect (off the loop).
        var resolving = false
        /// Dialled at an address a packet named, not a descriptor's.
        var undescribed = false
        /// When a packet last went to this undescribed link (monotonic ns; the least recently used goes first).
        var lastUsed: UInt64 = 0
        /// Closed for good (its node left the view, or it was evicted): a dial still under way is dropped.
        var retired = false

        init(linkKey: Bytes32, address: String) {
            self.linkKey = linkKey
            self.address = address
        }
    }

    let loop: EventLoop
    let secrets: NodeSecrets
    let geometry: Geometry
    let options: NodeOptions
    let pool: PacketPool
    let counters: NodeCounters
    let directory: Directory
    let log: (String) -> Void
    var links: [Link] = []
    var byKey: [Bytes32: Int] = [:]
    /// Link keys whose link has been checked against the view since it last changed, so a forwarded
    /// packet costs one hash lookup (no descriptor copy, no address comparison); cleared whenever the view
    /// changes (`prune`), so addresses and departures take effect.
    var resolved: [Bytes32: Int] = [:]
    var undescribedCount = 0
    var stopped = false

    init(geometry: Geometry, loop: EventLoop, secrets: NodeSecrets, options: NodeOptions, pool: PacketPool,
         counters: NodeCounters, directory: Directory, log: @escaping (String) -> Void) {
        self.loop = loop
        self.secrets = secrets
        self.geometry = geometry
        self.options = options
        self.pool = pool
        self.counters = counters
        self.directory = directory
        self.log = log
    }

    /// The link to the node a packet names: the descriptor's address if the view describes the link key,
    /// else the packet's address (an undescribed link); nil if neither (the node is unknown and the packet
    /// gives no address).
    func index(of next: NextHop) -> LinkIndex? {
        if let i = resolved[next.linkKey] { return LinkIndex(i) }
        let index: LinkIndex
        if let d = directory.descriptor(linkKey: next.linkKey) {
            index = link(linkKey: d.linkKey, address: d.address)
            if links[index.index].undescribed {   // described now: no longer counted against the bound
                links[index.index].undescribed = false
                undescribedCount -= 1
            }
        } else if let i = byKey[next.linkKey] {
            index = LinkIndex(i)  // an undescribed link already open: the address that opened it stays
        } else if let endpoint = next.endpoint {
            index = undescribedLink(linkKey: next.linkKey, address: endpoint)
        } else {
            return nil
        }
        resolved[next.linkKey] = index.index
        return index
    }

    /// A new undescribed link, in the place of the least recently used one when there are
    /// `maxUndescribedLinks` already (its waiting packets are dropped, counted).
    func undescribedLink(linkKey: Bytes32, address: String) -> LinkIndex {
        counters.stats.undescribedLinks += 1
        let fresh = Link(linkKey: linkKey, address: address)
        fresh.undescribed = true
        guard undescribedCount >= options.maxUndescribedLinks else {
            undescribedCount += 1
            links.append(fresh)
            byKey[linkKey] = links.count - 1
            return LinkIndex(links.count - 1)
        }
        var oldest = -1
        for (i, l) in links.enumerated() where l.undescribed && (oldest < 0 || l.lastUsed < links[oldest].lastUsed) { oldest = i }
        let old = links[oldest]
        close(old, "too many links to undescribed nodes")
        byKey[old.linkKey] = nil
        resolved[old.linkKey] = nil
        links[oldest] = fresh
        byKey[linkKey] = oldest
        return LinkIndex(oldest)
    }

    /// The link to `id` if the view describes it (relay loops' first hops).
    func index(ofNode id: Bytes32) -> LinkIndex? {
        guard let d = directory.descriptor(id) else { return nil }
        return index(of: NextHop(linkKey: d.linkKey))
    }

    /// The link to `linkKey` (made if new); a changed address is used from the next connect on.
    func link(linkKey: Bytes32, address: String) -> LinkIndex {
        if let i = byKey[linkKey] {
            if links[i].address != address { links[i].address = address }
            return LinkIndex(i)
        }
        links.append(Link(linkKey: linkKey, address: address))
        byKey[linkKey] = links.count - 1
        return LinkIndex(links.count - 1)
    }

    var up: Int { links.reduce(0) { $0 + (($1.connection?.isEstablished ?? false) ? 1 : 0) } }

    /// Sends the packet in `slot` to neighbour `to` and releases the slot, or keeps it queued while the
    /// link comes up (dropped, counted, when that queue is full).
    func send(_ slot: consuming PacketSlot, to target: LinkIndex) {
        let link = links[target.index]
        if link.undescribed { link.lastUsed = EventLoop.now() }
        if let c = link.connection, c.isEstablished {
            if c.send(UnsafeRawBufferPointer(pool.buffer(slot))) { counters.stats.packetsOut += 1 } else { counters.stats.droppedLinkQueue += 1 }
            pool.release(slot)
            return
        }
        // A link to a node no descriptor vouches for holds fewer packets while it is dialled.
        let room = link.undescribed ? min(options.maxPendingPerLink, 64) : options.maxPendingPerLink
        guard link.pending.count < room, !stopped else {
            counters.stats.droppedLinkQueue += 1
            pool.release(slot)
            return
        }
        link.pending.append(slot.parked())
        connect(target)
    }

    /// Sends the packet in `slot` to the node `next` names (looked up now: an unknown node the packet
    /// gives no address for is dropped, counted as `unknown_hop`).
    func send(_ slot: consuming PacketSlot, toHop next: NextHop) {
        guard let target = index(of: next) else {
            counters.stats.droppedUnknownHop += 1
            pool.release(slot)
            return
        }
        send(slot, to: target)
    }

    /// Sends control frames (gossip) to the node with `linkKey` at `address`, connecting if needed; while
    /// the link is down at most 64 frames wait.
    func sendControl(_ frames: [[UInt8]], linkKey: Bytes32, address: String) {
        guard !stopped, linkKey != secrets.linkPublic else { return }
        let target = link(linkKey: linkKey, address: address)
        let link = links[target.index]
        if let c = link.connection, c.isEstablished {
            for f in frames { c.send(f) }
            return
        }
        link.pendingControl = Array((link.pendingControl + frames).suffix(64))
        connect(target)
    }

    /// Closes the links to nodes that left the view (their queued packets are dropped, counted); keeps
    /// the undescribed ones (bounded on their own).
    func prune(keeping keys: Set<Bytes32>) {
        resolved.removeAll(keepingCapacity: true)
        var kept: [Link] = []
        for link in links {
            if keys.contains(link.linkKey) || link.linkKey == secrets.linkPublic || link.undescribed {
                kept.append(link)
                continue
            }
            close(link, "node left the view")
        }
        guard kept.count != links.count else { return }
        links = kept
        byKey.removeAll(keepingCapacity: true)
        for (i, l) in links.enumerated() { byKey[l.linkKey] = i }
    }

    /// An undescribed link whose dial or handshake failed (nothing listens there, or not with that key):
    /// it is removed and its waiting packets are dropped, counted as `unknown_hop`, so packets naming a
    /// bogus address hold neither pool slots nor redials for longer than one dial (at most the handshake
    /// timeout, 5 s).
    func failed(_ link: Link) {
        counters.stats.undescribedLinkFailures += 1
        counters.stats.droppedUnknownHop += link.pending.count
        for index in link.pending { pool.release(PacketSlot(index)) }
        link.pending.removeAll()
        close(link, "dial failed")
        guard let i = byKey[link.linkKey], links[i] === link else { return }
        byKey[link.linkKey] = nil
        let last = links.count - 1
        if i != last {
            links[i] = links[last]
            byKey[links[i].linkKey] = i
        }
        links.removeLast()
        resolved.removeAll(keepingCapacity: true)
        undescribedCount -= 1
    }

    /// Closes `link` and drops the packets waiting for it (counted).
    private func close(_ link: Link, _ reason: String) {
        // Retired and emptied before the connection closes, so its close handler does not redial it.
        link.retired = true
        counters.stats.droppedLinkQueue += link.pending.count
        for index in link.pending { pool.release(PacketSlot(index)) }
        link.pending.removeAll()
        link.pendingControl.removeAll()
        link.connection?.close(reason)
        link.connection = nil
        link.retryScheduled = false
    }

    /// Dials the link's address (a host name is resolved anew at every attempt, off the loop).
    func connect(_ target: LinkIndex) {
        let link = links[target.index]
        guard link.connection == nil, !link.resolving, !link.retired, !stopped else { return }
        let now = EventLoop.now()
        if now < link.retryAt {
            if !link.retryScheduled {
                link.retryScheduled = true
                loop.after(link.retryAt - now) { [self] in
                    link.retryScheduled = false
                    if let i = self.byKey[link.linkKey] { self.connect(LinkIndex(i)) }
                }
            }
            return
        }
        link.resolving = true
        TCP.connect(link.address, on: loop) { [self] fd, error in
            link.resolving = false
            guard !self.stopped, !link.retired, link.connection == nil else { fd?.close(); return }
            guard let fd, let hs = try? NoiseHandshake(pattern: .XK, initiator: true, prologue: self.options.prologue,
                                                       staticKey: self.secrets.linkSecret.bytes, remoteStatic: link.linkKey.bytes)
            else {
                fd?.close()
                if link.undescribed { self.failed(link); return }
                if !error.isEmpty && link.backoff >= 3_200_000_000 { self.log("link to \(link.address): \(error)") }
                self.scheduleRetry(link)
                return
            }
            self.dialled(link, fd, hs)
        }
    }

    /// A connect in progress on `fd`: the handshake, then the link's queues.
    func dialled(_ link: Link, _ fd: FileDescriptor, _ hs: NoiseHandshake) {
        let c = Connection(fd: fd, loop: loop, handshake: hs, maxFrame: geometry.packetBytes + 16,
                           maxQueued: 1 << 20, connecting: true, handshakeTimeout: options.handshakeTimeoutNanos)
        link.connection = c
        var wasUp = false
        c.onEstablished = { [self] c in
            wasUp = true
            link.backoff = 100_000_000
            self.counters.stats.linksUp = self.up
            // The introduction (§4.1): this node's descriptor first, so the peer accepts its packets
            // even before gossip brought the descriptor there.
            if let own = self.directory.own { c.send(GossipFrame.descriptors([own.bytes]).encoded) }
            for f in link.pendingControl { c.send(f) }
            link.pendingControl.removeAll()
            for index in link.pending {
                let slot = PacketSlot(index)
                if c.send(UnsafeRawBufferPointer(self.pool.buffer(slot))) { self.counters.stats.packetsOut += 1 } else { self.counters.stats.droppedLinkQueue += 1 }
                self.pool.release(slot)
            }
            link.pending.removeAll(keepingCapacity: true)
        }
        // The other side answers gossip on this link; packets only ever flow from the dialler.
        c.onMessage = { [self] c, frame in
            if GossipFrame.isControl(frame.count, packetBytes: self.geometry.packetBytes) {
                self.directory.control(frame, on: c)
            } else {
                c.close("unexpected packet on an outgoing link")
            }
        }
        c.onClose = { [self] c, reason in
            link.connection = nil
            if link.undescribed && !wasUp && !link.retired && !self.stopped {
                self.directory.connectionClosed(c.fd)
                self.failed(link)
                return
            }
            self.directory.connectionClosed(c.fd)
            self.counters.stats.linksUp = self.up
            if !self.stopped {
                self.log("link to \(link.address) closed: \(reason)")
                self.scheduleRetry(link)
            }
        }
        c.start()
    }

    func scheduleRetry(_ link: Link) {
        link.retryAt = EventLoop.now() &+ link.backoff
        link.backoff = min(link.backoff * 2, 30_000_000_000)
        if !link.pending.isEmpty || !link.pendingControl.isEmpty, let i = byKey[link.linkKey] { connect(LinkIndex(i)) }
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
            link.pendingControl.removeAll()
        }
    }
}
