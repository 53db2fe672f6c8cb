import PosternCover
import PosternCrypto
import PosternLink
import PosternMailbox
import PosternNetwork
import PosternPacket
import PosternSystem

/// Options a node runs with (from the config file, docs/OPERATING.md).
public struct NodeOptions {
    /// Where other nodes connect; where clients connect (gateways). Port 0 picks a free port.
    public var listen: String
    public var clientListen: String?
    /// Listening sockets already bound (to `listen` / `clientListen`'s port), used instead of binding
    /// again; the node owns them once started. Tests and the testnet bind port 0 and keep the socket, so
    /// no other process can take the port in between.
    public var listenSocket: FileDescriptor? = nil
    public var clientListenSocket: FileDescriptor? = nil
    /// Packets held for their delay at most; more are dropped (memory bound = this × packet size).
    public var maxQueuedPackets = 4096
    /// Packets waiting for a link to come up, per neighbour.
    public var maxPendingPerLink = 512
    /// Group-commit window of the mailbox store.
    public var groupCommitNanos: UInt64 = 5_000_000
    public var replayCapacity = 1 << 18
    /// A connection that has not completed its handshake by then is closed (half-open, silent peers).
    public var handshakeTimeoutNanos: UInt64 = 5_000_000_000
    /// Relay loops (λM); nil = none.
    public var cover: CoverConfig? = nil
    /// Mean per-hop delay of the relay loops' packets (µs).
    public var loopMeanDelayMicros: Double = 20_000
    public var prologue = Prologue.link
    public var clientPrologue = Prologue.client

    public init(listen: String, clientListen: String? = nil) {
        self.listen = listen
        self.clientListen = clientListen
    }
}

public enum NodeError: Error {
    case notInTopology
    case listen(String, SystemError)
    case badAddress(String)

    public var description: String {
        switch self {
        case .notInTopology: "this node's link key is not in the topology"
        case .listen(let a, let e): "cannot listen on \(a): \(e.message)"
        case .badAddress(let a): "bad address '\(a)' (expected host:port)"
        }
    }
}

/// A relay and/or gateway: accepts Noise XK links from other nodes, unwraps every packet (one X25519),
/// holds it for its delay, forwards it; as a gateway also serves clients over Noise NK and deposits final
/// hops into its mailbox store. Single-threaded on an `EventLoop`.
public final class Node {
    public let keys: NodeKeys
    public let topology: Topology
    public let info: NodeInfo
    public let options: NodeOptions
    let loop: EventLoop
    public private(set) var mailbox: MailboxStore?
    var tickerID = 0
    let processor: PacketProcessor
    let pool: PacketPool
    var delays = TimerHeap<(slot: Int32, next: Int32)>(capacity: 1024)
    var links: [OutgoingLink] = []
    var inbound: [Int32: Connection] = [:]
    var clients: [Int32: Connection] = [:]
    var listener: Int32 = -1, clientListener: Int32 = -1
    public private(set) var port: UInt16 = 0, clientPort: UInt16 = 0
    public internal(set) var stats = NodeStats()
    var firstPendingDeposit: UInt64?
    /// Acknowledgement packets (built in pool slots) waiting for the deposits they confirm to commit.
    var pendingAcks: [(slot: Int32, next: Int32)] = []
    var nextExpiry: UInt64 = 0
    var stopped = false
    public var log: (String) -> Void = { _ in }
    var coverScheduler: CoverScheduler?
    var loops: LoopMonitor?
    var builder: PacketBuilder?

    public init(keys: NodeKeys, topology: Topology, loop: EventLoop, options: NodeOptions, mailbox: MailboxStore?) throws(NodeError) {
        guard let me = topology.nodes.first(where: { $0.linkKey == keys.linkPublic }) else { throw .notInTopology }
        self.keys = keys
        self.topology = topology
        info = me
        self.options = options
        self.loop = loop
        self.mailbox = mailbox
        let ring = Keyring(replayCapacity: options.replayCapacity)
        ring.add(EpochKey(epoch: keys.epoch, secret: SecretKey(copying: keys.packetSecret.bytes), replayCapacity: options.replayCapacity))
        processor = PacketProcessor(geometry: topology.geometry, keyring: ring)
        pool = PacketPool(packetBytes: topology.geometry.packetBytes, capacity: options.maxQueuedPackets)
        pendingAcks.reserveCapacity(256)
        links = topology.nodes.map { OutgoingLink(node: $0) }
        if let cover = options.cover, cover.relayLoopRate > 0 {
            coverScheduler = CoverScheduler(config: cover, start: Double(Clock.wallNanoseconds()) / 1e9)
            let monitor = LoopMonitor(timeout: cover.loopTimeoutSeconds)
            monitor.onSustainedLoss = { [self] lost in self.log("warning: \(lost) of the last 20 relay loops did not return") }
            loops = monitor
            builder = PacketBuilder(geometry: topology.geometry)
        }
    }

    public var packetStats: PacketStats { processor.stats }

    /// Opens the listeners and joins the loop.
    public func start() throws(NodeError) {
        if let bound = options.listenSocket { listener = bound.rawValue } else {
            guard let (host, p) = TCP.parse(options.listen) else { throw .badAddress(options.listen) }
            do { listener = try TCP.listen(host, p) } catch { throw .listen(options.listen, error) }
        }
        port = TCP.localPort(listener)
        try? loop.watch(listener, events: EventLoop.readable) { [self] _ in self.acceptLinks() }
        if let bound = options.clientListenSocket {
            clientListener = bound.rawValue
            clientPort = TCP.localPort(clientListener)
            try? loop.watch(clientListener, events: EventLoop.readable) { [self] _ in self.acceptClients() }
        } else if let client = options.clientListen {
            guard let (ch, cp) = TCP.parse(client) else { throw .badAddress(client) }
            do { clientListener = try TCP.listen(ch, cp) } catch { throw .listen(client, error) }
            clientPort = TCP.localPort(clientListener)
            try? loop.watch(clientListener, events: EventLoop.readable) { [self] _ in self.acceptClients() }
        }
        tickerID = loop.addTicker(tick: { [self] in self.tick() }, deadline: { [self] in self.nextDeadline() })
        log("node \(info.id.hex.prefix(12)) listening on port \(port)" + (clientListener >= 0 ? ", clients on \(clientPort)" : ""))
    }

    /// Closes every socket, drops the packets still waiting for their delay (they are lost, like any
    /// packet in a crashed relay; senders' loops and retries cover it) and commits the mailbox.
    public func stop() {
        guard !stopped else { return }
        stopped = true
        let held = delays.drain().count
        for link in links { link.connection?.close("node stopping"); link.connection = nil; link.pending.removeAll() }
        for c in Array(inbound.values) + Array(clients.values) { c.close("node stopping") }
        for fd in [listener, clientListener] where fd >= 0 { loop.unwatch(fd); TCP.close(fd) }
        listener = -1; clientListener = -1
        loop.removeTicker(tickerID)
        try? mailbox?.flush()
        for ack in pendingAcks { pool.release(ack.slot) }
        pendingAcks.removeAll()
        mailbox = nil   // closes the store and releases its lock
        log("node stopped; \(held) held packets dropped")
    }

    // MARK: Accepting

    func acceptLinks() {
        while let fd = try? TCP.accept(listener) {
            guard let hs = try? NoiseHandshake(pattern: .XK, initiator: false, prologue: options.prologue,
                                               staticKey: keys.linkSecret.bytes) else { TCP.close(fd); continue }
            let c = Connection(fd: fd, loop: loop, handshake: hs, maxFrame: topology.geometry.packetBytes + 16, maxQueued: 1 << 16,
                               handshakeTimeout: options.handshakeTimeoutNanos)
            inbound[fd] = c
            c.onEstablished = { [self] c in
                // Only nodes of the topology may send packets.
                guard let rs = c.remoteStatic, let peer = Bytes32(rs), self.topology.nodes.contains(where: { $0.linkKey == peer }) else {
                    self.stats.linkRejects += 1
                    c.close("unknown peer")
                    return
                }
            }
            c.onMessage = { [self] c, frame in
                guard frame.count == self.topology.geometry.packetBytes else {
                    self.stats.droppedBadFrame += 1
                    c.close("frame is not one packet")
                    return
                }
                self.handlePacket(frame)
            }
            c.onClose = { [self] c, _ in self.inbound[c.fd] = nil }
            c.start()
        }
    }

    func acceptClients() {
        while let fd = try? TCP.accept(clientListener) {
            guard let hs = try? NoiseHandshake(pattern: .NK, initiator: false, prologue: options.clientPrologue,
                                               staticKey: keys.linkSecret.bytes) else { TCP.close(fd); continue }
            let c = Connection(fd: fd, loop: loop, handshake: hs, maxFrame: 65_535, maxQueued: 4 << 20,
                               handshakeTimeout: options.handshakeTimeoutNanos)
            clients[fd] = c
            stats.clientsConnected = clients.count
            c.onMessage = { [self] c, frame in self.handleClientRequest(c, frame) }
            c.onClose = { [self] c, _ in self.clients[c.fd] = nil; self.stats.clientsConnected = self.clients.count }
            c.start()
        }
    }

    // MARK: Packets

    /// Unwraps one packet (from a link or a client) and routes it.
    @discardableResult
    func handlePacket(_ frame: UnsafeRawBufferPointer) -> PacketError? {
        stats.packetsIn += 1
        guard let slot = pool.take() else { stats.droppedQueueFull += 1; return nil }
        let buffer = pool.buffer(slot)
        buffer.baseAddress!.copyMemory(from: frame.baseAddress!, byteCount: frame.count)
        let command: RoutingCommand
        do { command = try processor.unwrap(buffer) } catch {
            pool.release(slot)
            return error
        }
        switch command {
        case .forward(let next, let delay):
            guard let index = topology.nodes.firstIndex(where: { $0.id == next }) else {
                stats.droppedUnknownHop += 1
                pool.release(slot)
                return nil
            }
            delays.insert((slot, Int32(index)), deadline: EventLoop.now() &+ UInt64(delay) * 1000)
            stats.queueDepth = delays.count
        case .deliver(let address):
            deposit(slot, address: address, reply: nil)
        case .deliverReply(let address, let id):
            deposit(slot, address: address, reply: id)
        }
        return nil
    }

    /// Final hop: the payload goes into the mailbox. Blob = 0x01 ‖ data (see `Delivery`), or
    /// 0x02 ‖ SURB id ‖ still-encrypted payload for replies. A delivery that carries an acknowledgement
    /// SURB is answered once its deposit is committed (or at once, when the store refused it).
    func deposit(_ slot: Int32, address: Bytes32, reply: SURBID?) {
        defer { pool.release(slot) }
        // Drop-stream cover ends here unstored; our own relay loops come home here.
        if address == .zero && reply == nil { stats.coverDropped += 1; return }
        if let loops, loops.returned(address.bytes) { stats.loopsReturned += 1; return }
        guard let mailbox else { stats.droppedNotGateway += 1; return }
        let payload = pool.pointer(slot) + topology.geometry.headerBytes
        var blob: [UInt8]
        var ack: UnsafeRawPointer?
        if let reply {
            blob = [StoredKind.reply.code]
            var words = reply.words
            withUnsafeBytes(of: &words) { blob += $0 }
            blob += UnsafeRawBufferPointer(start: payload, count: topology.geometry.payloadBytes)
        } else {
            guard let (data, surb) = Delivery.parse(payload + Geometry.zeroPrefixBytes, geometry: topology.geometry) else {
                stats.droppedStore += 1
                return
            }
            blob = [StoredKind.message.code] + data
            ack = surb
        }
        do {
            _ = try mailbox.deposit(address: address, blob: blob)
            if firstPendingDeposit == nil { firstPendingDeposit = EventLoop.now() }
            if reply == nil { stats.delivered += 1 } else { stats.repliesDelivered += 1 }
            if let ack { answer(ack, .stored, now: false) }
        } catch {
            stats.droppedStore += 1
            log("deposit refused: \(error.description)")
            if let ack { answer(ack, .refused, now: true) }
        }
    }

    /// Builds the acknowledgement for the serialised SURB at `surb` into a fresh pool slot; it leaves
    /// with the next commit (`now`: at once).
    func answer(_ surb: UnsafeRawPointer, _ status: Delivery.Ack, now: Bool) {
        let first = SURB.firstHop(serialized: surb)
        guard first != info.id, let next = topology.nodes.firstIndex(where: { $0.id == first }), let slot = pool.take() else {
            stats.acksDropped += 1
            return
        }
        var code = status.code
        withUnsafeBytes(of: &code) { SURB.writeReply(serialized: surb, geometry: topology.geometry, message: $0, into: pool.pointer(slot)) }
        stats.acksSent += 1
        if now { send(slot: slot, to: next) } else { pendingAcks.append((slot, Int32(next))) }
    }

    func tick() {
        let now = EventLoop.now()
        while let due = delays.popDue(now: now) {
            send(slot: due.value.slot, to: Int(due.value.next))
        }
        stats.queueDepth = delays.count
        if coverScheduler != nil { sendRelayLoops() }
        if let first = firstPendingDeposit, now &- first >= options.groupCommitNanos { commitDeposits() }
        if let mailbox, now >= nextExpiry {
            nextExpiry = now &+ 1_000_000_000
            _ = try? mailbox.expire()
            if firstPendingDeposit == nil { firstPendingDeposit = now }
        }
    }

    func commitDeposits() {
        firstPendingDeposit = nil
        do {
            try mailbox?.flush()
            for ack in pendingAcks { send(slot: ack.slot, to: Int(ack.next)) }
        } catch {
            // Nothing was confirmed: the senders time out and send again.
            log("mailbox commit failed: \(error.description)")
            for ack in pendingAcks { pool.release(ack.slot) }
            stats.acksDropped += pendingAcks.count
            stats.acksSent -= pendingAcks.count
        }
        pendingAcks.removeAll(keepingCapacity: true)
    }

    func nextDeadline() -> UInt64? {
        var next = delays.nextDeadline
        if let c = coverScheduler {
            let wall = Double(Clock.wallNanoseconds()) / 1e9
            next = min(next ?? .max, EventLoop.now() &+ UInt64(max(0, c.nextTime - wall) * 1e9))
        }
        if let first = firstPendingDeposit { next = min(next ?? .max, first &+ options.groupCommitNanos) }
        if mailbox != nil { next = min(next ?? .max, nextExpiry) }
        return next
    }

    public var linksUp: Int { links.reduce(0) { $0 + (($1.connection?.isEstablished ?? false) ? 1 : 0) } }

    /// Relay loops (Loopix λM): a packet through every mix layer and back to this node, sent at the
    /// scheduler's Poisson times; one that does not come back in time counts as lost.
    func sendRelayLoops() {
        guard let scheduler = coverScheduler, let loops, let builder else { return }
        let wall = Double(Clock.wallNanoseconds()) / 1e9
        loops.check(now: wall)
        stats.loopsLost = loops.lost
        while scheduler.nextTime <= wall {
            _ = scheduler.take()
            let hops = (topology.randomMixPath() + [info]).map { topology.hop($0, meanDelayMicros: options.loopMeanDelayMicros) }
            let address = Bytes32.random()
            guard let slot = pool.take() else { stats.droppedQueueFull += 1; continue }
            do {
                try builder.build(route: hops, to: .mailbox(address), message: UnsafeRawBufferPointer(start: nil, count: 0),
                                  into: pool.pointer(slot))
            } catch {
                pool.release(slot)
                continue
            }
            loops.sent(address.bytes, at: wall)
            stats.loopsSent += 1
            if let first = topology.nodes.firstIndex(where: { $0.id == hops[0].node }) { send(slot: slot, to: first) } else { pool.release(slot) }
        }
    }
}
