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

public enum NodeError: Error, CustomStringConvertible {
    case notInTopology
    case listen(String, SystemError)
    case badAddress(String)
    /// The node's mailbox store cannot be opened or used (its cause kept).
    case mailbox(MailboxError)
    /// The local network's saved state (`network.keys`) cannot be read back.
    case damaged(path: String)
    /// The local network's topology could not be signed and verified.
    case topology(TopologyError)

    public var description: String {
        switch self {
        case .notInTopology: "this node's link key is not in the topology"
        case .listen(let a, let e): "cannot listen on \(a): \(e.description)"
        case .badAddress(let a): "bad address '\(a)' (expected host:port)"
        case .mailbox(let e): e.description
        case .damaged(let path): "\(path) is damaged"
        case .topology(let e): e.description
        }
    }
}

/// A relay and/or gateway, as a pipeline of stages on one `EventLoop` (docs/OPERATING.md, "Inside a
/// node"); the node only wires them and starts and stops them:
///
///     LinkListener ─┐
///                   ├→ PacketUnwrapper ─→ MixQueue ─→ OutgoingLinks ─→ next node
///     ClientService ┘                  └→ GatewayDeposits (mailbox, acknowledgements ─→ OutgoingLinks)
///     RelayLoops ─→ OutgoingLinks                       ClientService ←→ mailbox (fetch, delete)
///
/// Packets live in one preallocated `PacketPool`; a `PacketSlot` moves from stage to stage and goes back
/// exactly once. The timed stages (mix queue, deposits, relay loops) are scheduled on the loop each on
/// its own (`Timed`).
public final class Node {
    public let keys: NodeKeys
    public let topology: Topology
    public let info: NodeInfo
    public let options: NodeOptions
    let loop: EventLoop
    let counters = NodeCounters()
    let processor: PacketProcessor
    let pool: PacketPool
    let links: OutgoingLinks
    let queue: MixQueue
    let deposits: GatewayDeposits
    let unwrapper: PacketUnwrapper
    let listener: LinkListener
    let clientService: ClientService
    let relayLoops: RelayLoops?
    public private(set) var port: UInt16 = 0, clientPort: UInt16 = 0
    var started = false, stopped = false
    /// Where the node's and its stages' log lines go.
    public var log: (String) -> Void = { _ in } { didSet { logBox.log = log } }

    public init(keys: NodeKeys, topology: Topology, loop: EventLoop, options: NodeOptions, mailbox: MailboxStore?) throws(NodeError) {
        guard let me = topology.nodes.first(where: { $0.linkKey == keys.linkPublic }) else { throw .notInTopology }
        self.keys = keys
        self.topology = topology
        info = me
        self.options = options
        self.loop = loop
        let ring = Keyring(replayCapacity: options.replayCapacity)
        ring.add(EpochKey(epoch: keys.epoch, secret: SecretKey(copying: keys.packetSecret.bytes), replayCapacity: options.replayCapacity))
        processor = PacketProcessor(geometry: topology.geometry, keyring: ring)
        pool = PacketPool(packetBytes: topology.geometry.packetBytes, capacity: options.maxQueuedPackets)
        // Stages log through the node's `log`, which may be set after init.
        let box = LogBox()
        logBox = box
        let log: (String) -> Void = { box.log($0) }
        links = OutgoingLinks(topology: topology, loop: loop, keys: keys, options: options, pool: pool, counters: counters, log: log)
        queue = MixQueue(pool: pool, links: links, counters: counters)
        deposits = GatewayDeposits(me: me, geometry: topology.geometry, mailbox: mailbox, groupCommitNanos: options.groupCommitNanos,
                                   pool: pool, links: links, counters: counters, log: log)
        unwrapper = PacketUnwrapper(processor: processor, pool: pool, queue: queue, links: links, deposits: deposits, counters: counters)
        let unwrap = unwrapper
        listener = LinkListener(loop: loop, keys: keys, topology: topology, options: options, counters: counters) { unwrap.handle($0) }
        clientService = ClientService(loop: loop, keys: keys, geometry: topology.geometry, options: options, unwrapper: unwrapper,
                                      deposits: deposits, counters: counters)
        if let cover = options.cover, cover.relayLoopRate > 0 {
            relayLoops = RelayLoops(cover: cover, topology: topology, me: me, meanDelayMicros: options.loopMeanDelayMicros,
                                    pool: pool, links: links, counters: counters, log: log)
        } else {
            relayLoops = nil
        }
        deposits.loops = relayLoops
    }

    let logBox: LogBox

    public var stats: NodeStats { counters.stats }
    public var packetStats: PacketStats { processor.stats }
    /// The gateway's mailbox store (nil at a mix, and once stopped).
    public var mailbox: MailboxStore? { deposits.mailbox }
    public var linksUp: Int { links.up }
    /// Pool slots holding a packet right now (mix queue, link queues, acknowledgements waiting for a commit).
    public var packetsHeld: Int { pool.inUse }

    /// Opens the listeners (or takes the bound sockets of `options`) and joins the loop.
    public func start() throws(NodeError) {
        let linkSocket = try Self.listening(options.listenSocket, options.listen)
        var clientSocket: FileDescriptor?
        if options.clientListenSocket != nil || options.clientListen != nil {
            do { clientSocket = try Self.listening(options.clientListenSocket, options.clientListen ?? "") } catch {
                linkSocket.close()
                throw error
            }
        }
        port = TCP.localPort(linkSocket)
        listener.start(linkSocket)
        if let clientSocket {
            clientPort = TCP.localPort(clientSocket)
            clientService.start(clientSocket)
        }
        loop.schedule(queue)
        loop.schedule(deposits)
        if let relayLoops { loop.schedule(relayLoops) }
        started = true
        log("node \(info.id.hex.prefix(12)) listening on port \(port)" + (clientSocket != nil ? ", clients on \(clientPort)" : ""))
    }

    /// `bound` if given, else a new listening socket on `address`.
    static func listening(_ bound: FileDescriptor?, _ address: String) throws(NodeError) -> FileDescriptor {
        if let bound { return bound }
        guard let (host, p) = TCP.parse(address) else { throw .badAddress(address) }
        do { return try TCP.listen(host, p) } catch { throw .listen(address, error) }
    }

    /// Closes every socket, drops the packets still waiting for their delay (they are lost, like any
    /// packet in a crashed relay; senders' loops and retries cover it) and commits the mailbox.
    public func stop() {
        guard !stopped else { return }
        stopped = true
        let held = queue.drain()
        links.stop()
        listener.stop()
        clientService.stop()
        loop.unschedule(queue)
        loop.unschedule(deposits)
        if let relayLoops { loop.unschedule(relayLoops) }
        deposits.stop()   // commits and closes the store, releasing its lock
        log("node stopped; \(held) held packets dropped")
    }

    /// Takes one packet into the pipeline as if it had arrived on a link (the bench's mix-only path);
    /// the refusal, if it was refused.
    @discardableResult
    public func receive(packet frame: UnsafeRawBufferPointer) -> PacketError? { unwrapper.handle(frame) }
}

/// Where the stages' log lines go: the node's `log`, which its owner sets after init.
final class LogBox {
    var log: (String) -> Void = { _ in }
}
