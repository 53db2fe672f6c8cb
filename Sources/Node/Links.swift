import PosternCrypto
import PosternLink
import PosternNetwork
import PosternPacket
import PosternSystem

/// The connection this node keeps to one neighbour (it dials; Noise XK with the neighbour's link key
/// from the topology). Connected on first use, kept open, reconnected with exponential backoff
/// (100 ms … 30 s). Packets wait in a bounded per-link queue while the link is down.
final class OutgoingLink {
    let node: NodeInfo
    var connection: Connection?
    var pending: [Int32] = []
    var backoff: UInt64 = 100_000_000
    var retryAt: UInt64 = 0
    var retryScheduled = false

    init(node: NodeInfo) { self.node = node }
}

extension Node {
    /// Sends the packet in `slot` to topology node `index` and releases the slot (or keeps it queued
    /// while the link comes up).
    func send(slot: Int32, to index: Int) {
        let link = links[index]
        if let c = link.connection, c.isEstablished {
            if c.send(UnsafeRawBufferPointer(pool.buffer(slot))) { stats.packetsOut += 1 } else { stats.droppedLinkQueue += 1 }
            pool.release(slot)
            return
        }
        guard link.pending.count < options.maxPendingPerLink else {
            stats.droppedLinkQueue += 1
            pool.release(slot)
            return
        }
        link.pending.append(slot)
        connect(index)
    }

    func connect(_ index: Int) {
        let link = links[index]
        guard link.connection == nil, !stopped else { return }
        let now = EventLoop.now()
        if now < link.retryAt {
            if !link.retryScheduled {
                link.retryScheduled = true
                loop.after(link.retryAt - now) { [self] in link.retryScheduled = false; self.connect(index) }
            }
            return
        }
        guard let (host, port) = TCP.parse(link.node.address),
              let fd = try? TCP.connect(host, port),
              let hs = try? NoiseHandshake(pattern: .XK, initiator: true, prologue: options.prologue,
                                           staticKey: keys.linkSecret.bytes, remoteStatic: link.node.linkKey.bytes)
        else {
            scheduleRetry(index)
            return
        }
        let c = Connection(fd: fd, loop: loop, handshake: hs, maxFrame: topology.geometry.packetBytes + 16,
                           maxQueued: 1 << 20, connecting: true)
        link.connection = c
        c.onEstablished = { [self] c in
            link.backoff = 100_000_000
            self.stats.linksUp = self.linksUp
            for slot in link.pending {
                if c.send(UnsafeRawBufferPointer(self.pool.buffer(slot))) { self.stats.packetsOut += 1 } else { self.stats.droppedLinkQueue += 1 }
                self.pool.release(slot)
            }
            link.pending.removeAll(keepingCapacity: true)
        }
        // Nothing is expected from the responder after the handshake; anything else is a protocol error.
        c.onMessage = { c, _ in c.close("unexpected frame on an outgoing link") }
        c.onClose = { [self] _, reason in
            link.connection = nil
            self.stats.linksUp = self.linksUp
            if !self.stopped {
                self.log("link to \(link.node.id.hex.prefix(12)) closed: \(reason)")
                self.scheduleRetry(index)
            }
        }
        c.start()
    }

    func scheduleRetry(_ index: Int) {
        let link = links[index]
        link.retryAt = EventLoop.now() &+ link.backoff
        link.backoff = min(link.backoff * 2, 30_000_000_000)
        if !link.pending.isEmpty { connect(index) }
    }
}
