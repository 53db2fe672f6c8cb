import PosternCover
import PosternCrypto
import PosternLink
import PosternMailbox
import PosternNetwork
import PosternPacket
import PosternStore
import PosternSystem

/// Options a node runs with (from the config file, docs/OPERATING.md).
public struct NodeOptions {
    /// Where other nodes connect; where clients connect (gateways). Port 0 picks a free port.
    public var listen: String
    public var clientListen: String?
    /// The addresses published in the descriptor (default: the listen addresses with the bound ports; a
    /// node listening on 0.0.0.0 must say where it is reached).
    public var advertise: String? = nil
    public var advertiseClient: String? = nil
    /// Listening sockets already bound (to `listen` / `clientListen`'s port), used instead of binding
    /// again; the node owns them once started. Tests and the testnet bind port 0 and keep the socket, so
    /// no other process can take the port in between.
    public var listenSocket: FileDescriptor? = nil
    public var clientListenSocket: FileDescriptor? = nil
    /// What this node does (a gateway also serves clients on `clientListen`).
    public var roles: NodeDescriptor.Roles = .mix
    /// Nodes to gossip with while no other is known.
    public var bootstrap: [Peer] = []
    /// Descriptors known from the start (a local network hands every node the others').
    public var knownDescriptors: [[UInt8]] = []
    /// The membership certificate (certified networks).
    public var certificate: MembershipCertificate? = nil
    /// Where the packet keys are kept (nil: in memory only, new ones at every start).
    public var packetKeysPath: String? = nil
    /// Packets held for their delay at most; more are dropped (memory bound = this × packet size).
    public var maxQueuedPackets = 4096
    /// Packets waiting for a link to come up, per neighbour.
    public var maxPendingPerLink = 512
    /// Links at most to nodes the view does not describe, dialled at the address a packet named
    /// (PROTOCOL.md §2.2); the least recently used is closed to open another.
    public var maxUndescribedLinks = 64
    /// Descriptors the view holds at most (PROTOCOL.md §5.5); further new nodes are refused, counted as
    /// `gossip_refused`.
    public var maxViewDescriptors = 20_000
    /// Partial views (PROTOCOL.md §5.9): the Brahms view size ℓ₁; 0 keeps a full view (§5.6). Needs
    /// layer rule 2.
    public var viewSize = 0
    /// The sample size ℓ₂ (nil: `viewSize`).
    public var sampleSize: Int? = nil
    /// Group-commit window of the mailbox store.
    public var groupCommitNanos: UInt64 = 5_000_000
    public var replayCapacity = 1 << 18
    /// Client sessions at most (gateways); one more is closed at once and counted. Each costs about
    /// 5 KiB idle (docs/OPERATING.md).
    public var maxClients = 256
    /// A client session without a request for this long is closed (it reconnects when it needs to).
    public var clientIdleNanos: UInt64 = 300_000_000_000
    /// Replies queued for all clients together, at most; beyond it the client with the most waiting (one
    /// that does not read its replies) is closed. Each client is also paused at 64 KiB waiting.
    public var maxClientOutputBytes = 8 << 20
    /// Addresses one client session may watch (POLL), and all sessions together; about 100 bytes of
    /// gateway memory each (the total bounds it at about 26 MB).
    public var maxWatchedPerClient = 8192, maxWatchedTotal = 262_144
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
    /// A gateway without a client address, or a node listening on a wildcard address without `advertise`.
    case config(String)
    case listen(String, SystemError)
    case badAddress(String)
    /// The node's mailbox store cannot be opened or used (its cause kept).
    case mailbox(MailboxError)
    /// The local network's saved state (`network.keys`) cannot be read back.
    case damaged(path: String)

    public var description: String {
        switch self {
        case .config(let why): why
        case .listen(let a, let e): "cannot listen on \(a): \(e.description)"
        case .badAddress(let a): "bad address '\(a)' (expected host:port)"
        case .mailbox(let e): e.description
        case .damaged(let path): "\(path) is damaged"
        }
    }
}

/// A relay and/or gateway, as a pipeline of stages on one `EventLoop` (docs/OPERATING.md, "Inside a
/// node"); the node only wires them and starts and stops them:
///
///     LinkListener ─┐
///                   ├→ PacketUnwrapper ─→ MixQueue ─→ OutgoingLinks ─→ next node
///     ClientService ┘                  └→ GatewayDeposits (mailbox, acknowledgements ─→ OutgoingLinks)
///     RelayLoops ─→ OutgoingLinks                       ClientService ←→ mailbox (fetch, delete), view
///     Directory: packet keys by epoch, own descriptor, the view and this epoch's map, gossip (⇄ links)
///
/// Packets live in one preallocated `PacketPool`; a `PacketSlot` moves from stage to stage and goes back
/// exactly once. The timed stages (directory, mix queue, deposits, relay loops) are scheduled on the loop
/// each on its own (`Timed`).
public final class Node {
    public let secrets: NodeSecrets
    public let parameters: NetworkParameters
    public let options: NodeOptions
    let loop: EventLoop
    let counters = NodeCounters()
    let processor: PacketProcessor
    let pool: PacketPool
    let directory: Directory
    let links: OutgoingLinks
    let queue: MixQueue
    let deposits: GatewayDeposits
    let unwrapper: PacketUnwrapper
    let replay: ReplayLog
    let listener: LinkListener
    let clientService: ClientService
    let relayLoops: RelayLoops?
    public private(set) var port: UInt16 = 0, clientPort: UInt16 = 0
    var started = false, stopped = false
    /// Where the node's and its stages' log lines go.
    public var log: (String) -> Void = { _ in } { didSet { logBox.log = log } }
    let logBox = LogBox()

    /// `state`: the node's own store (its view of the network, kept across restarts); nil keeps it in
    /// memory. `mailbox`: gateways only.
    public init(secrets: NodeSecrets, network: NetworkParameters, loop: EventLoop, options: NodeOptions,
                mailbox: MailboxStore?, state: RecordStore? = nil) throws(NodeError) {
        do { try network.check() } catch { throw .config(error.description) }
        if options.roles.isGateway && options.clientListen == nil && options.clientListenSocket == nil {
            throw .config("a gateway needs a client address (node.client_listen)")
        }
        self.secrets = secrets
        parameters = network
        self.options = options
        self.loop = loop
        let geometry = network.geometry
        let ring = Keyring(replayCapacity: options.replayCapacity)
        processor = PacketProcessor(geometry: geometry, keyring: ring)
        pool = PacketPool(packetBytes: geometry.packetBytes, capacity: options.maxQueuedPackets)
        // Stages log through the node's `log`, which may be set after init.
        let box = logBox
        let log: (String) -> Void = { box.log($0) }
        directory = Directory(parameters: network, secrets: secrets, options: options, keyring: ring, counters: counters,
                              state: state, log: log)
        links = OutgoingLinks(geometry: geometry, loop: loop, secrets: secrets, options: options, pool: pool, counters: counters,
                              directory: directory, log: log)
        queue = MixQueue(pool: pool, links: links, counters: counters)
        deposits = GatewayDeposits(myID: secrets.id, geometry: geometry, mailbox: mailbox, groupCommitNanos: options.groupCommitNanos,
                                   pool: pool, links: links, counters: counters, log: log)
        replay = ReplayLog(store: state, log: log)
        unwrapper = PacketUnwrapper(processor: processor, pool: pool, queue: queue, links: links, deposits: deposits, replay: replay,
                                    counters: counters)
        let unwrap = unwrapper
        listener = LinkListener(loop: loop, secrets: secrets, geometry: geometry, options: options, counters: counters,
                                directory: directory) { unwrap.handle($0) }
        clientService = ClientService(loop: loop, secrets: secrets, geometry: geometry, directory: directory, options: options,
                                      unwrapper: unwrapper, deposits: deposits, counters: counters)
        if let cover = options.cover, cover.relayLoopRate > 0 {
            relayLoops = RelayLoops(cover: cover, directory: directory, myID: secrets.id, meanDelayMicros: options.loopMeanDelayMicros,
                                    pool: pool, links: links, counters: counters, log: log)
        } else {
            relayLoops = nil
        }
        deposits.loops = relayLoops
        let outgoing = links, dir = directory
        directory.sendControl = { frames, key, address in outgoing.sendControl(frames, linkKey: key, address: address) }
        // Links to nodes that left the view close; a bootstrap peer's link stays (it is how a new node
        // gets its first view, and is often not in the view yet when the view first changes).
        let bootstrapKeys = Set(options.bootstrap.map { $0.linkKey })
        directory.onChange = { outgoing.prune(keeping: Set(dir.view.descriptors.values.map { $0.linkKey }).union(bootstrapKeys)) }
        let replayLog = replay
        directory.onKeyDeleted = { replayLog.drop(epoch: $0) }
    }

    public var id: Bytes32 { secrets.id }
    public var stats: NodeStats { counters.stats }
    public var packetStats: PacketStats { processor.stats }
    /// The gateway's mailbox store (nil at a mix, and once stopped).
    public var mailbox: MailboxStore? { deposits.mailbox }
    /// Partial views: the Brahms view's ids and the sample's values; nil with a full view.
    public var partialView: (view: [Bytes32], sample: [Bytes32])? {
        directory.sampling.map { ($0.brahms.view, $0.brahms.sample.values) }
    }
    /// The descriptors this node hands a client asking VIEW at `now` (docs/PROTOCOL.md §5.9).
    public func descriptorsForClients(now: Int64) -> [NodeDescriptor] { directory.clientShare(now: now) }
    /// The epoch a partial view's rounds last ran in (its boundary work done), nil with a full view.
    public var samplingEpoch: UInt32? { directory.sampling?.epoch }
    public var linksUp: Int { links.up }
    /// Links to nodes the view does not describe, open or waiting to be (at most `maxUndescribedLinks`).
    public var undescribedLinksOpen: Int { links.undescribedCount }
    /// Pool slots holding a packet right now (mix queue, link queues, acknowledgements waiting for a commit).
    public var packetsHeld: Int { pool.inUse }
    /// Packet buffers allocated so far (in chunks of 64, as the packets held at once rise).
    public var packetSlotsAllocated: Int { pool.allocated }
    /// This epoch's map as this node sees it, and everything it knows.
    public var topology: Topology { directory.topology }
    public var view: NetworkView { directory.view }
    /// This node's current descriptor (after `start`).
    public var descriptor: NodeDescriptor? { directory.own }
    /// Epochs whose packet keys this node holds.
    public var keyEpochs: [UInt32] { processor.keyring.keys.map { $0.epoch }.sorted() }

    /// Opens the listeners (or takes the bound sockets of `options`), publishes the descriptor and joins
    /// the loop.
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
        if let clientSocket { clientPort = TCP.localPort(clientSocket) }
        let address = options.advertise ?? Self.withPort(options.listen, port)
        let clientAddress = options.advertiseClient ?? options.clientListen.map { Self.withPort($0, clientPort) }
        for a in [address] + (clientAddress.map { [$0] } ?? []) where Self.isWildcard(a) {
            linkSocket.close()
            clientSocket?.close()
            throw .config("\(a) is where the node listens, not where others reach it: set node.advertise / node.advertise_client")
        }
        listener.start(linkSocket)
        if let clientSocket { clientService.start(clientSocket) }
        directory.start(address: address, clientAddress: clientAddress)
        replay.load(into: processor.keyring)
        if replay.loaded > 0 { log("\(replay.loaded) replay tags from before the restart are refused again") }
        loop.schedule(directory)
        loop.schedule(replay)
        loop.schedule(queue)
        loop.schedule(deposits)
        if let relayLoops { loop.schedule(relayLoops) }
        started = true
        log("node \(secrets.id.hex.prefix(12)) listening on port \(port)" + (clientSocket != nil ? ", clients on \(clientPort)" : "")
            + "; epoch \(parameters.epoch(at: Clock.wallSeconds())), \(directory.view.count) nodes known")
    }

    /// `bound` if given, else a new listening socket on `address`.
    static func listening(_ bound: FileDescriptor?, _ address: String) throws(NodeError) -> FileDescriptor {
        if let bound { return bound }
        guard let (host, p) = TCP.parse(address) else { throw .badAddress(address) }
        do { return try TCP.listen(host, p) } catch { throw .listen(address, error) }
    }

    /// `host:port` of a listen address with the port actually bound.
    static func withPort(_ listen: String, _ port: UInt16) -> String {
        guard let (host, _) = TCP.parse(listen) else { return listen }
        return host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    static func isWildcard(_ address: String) -> Bool {
        guard let (host, _) = TCP.parse(address) else { return false }
        return host == "0.0.0.0" || host == "::"
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
        loop.unschedule(directory)
        loop.unschedule(replay)
        loop.unschedule(queue)
        loop.unschedule(deposits)
        if let relayLoops { loop.unschedule(relayLoops) }
        deposits.stop()   // commits and closes the store, releasing its lock
        replay.close()
        directory.close()
        directory.sendControl = { _, _, _ in }
        directory.onChange = {}
        log("node stopped; \(held) held packets dropped")
    }

    /// Takes one packet into the pipeline as if it had arrived on a link (the bench's mix-only path);
    /// the refusal, if it was refused.
    @discardableResult
    public func receive(packet frame: UnsafeRawBufferPointer) -> PacketError? { unwrapper.handle(frame) }

    /// Offers descriptors as if they came by gossip (a local network introducing its nodes); the map is
    /// rebuilt if any was taken.
    public func learn(_ descriptors: [[UInt8]]) {
        let now = Clock.wallSeconds()
        var taken = false
        for d in descriptors where directory.offer(d, now: now) { taken = true }
        if taken { directory.rebuild(now: now) }
    }

    /// Signs and publishes a new descriptor now (tests; a running node does it at every epoch boundary).
    public func republish() { directory.publish(now: Clock.wallSeconds()) }

    /// Runs a gossip round now (tests).
    public func gossipNow() { directory.gossipRound(now: Clock.wallSeconds()) }
}

/// Where the stages' log lines go: the node's `log`, which its owner sets after init.
final class LogBox {
    var log: (String) -> Void = { _ in }
}
