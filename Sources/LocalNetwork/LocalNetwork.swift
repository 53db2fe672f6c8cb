import PosternCrypto
import PosternMailbox
import PosternNetwork
import PosternNode
import PosternPacket
import PosternSystem

/// A complete mixnet on loopback in one process: `layers` mix layers (one node each) and `gateways`
/// gateways, each a real `Node` with its own listening sockets, Noise links over TCP and (gateways) its
/// own LMDB mailbox store under `dataDirectory`. The topology goes through its signed text form and is
/// verified like a downloaded one. For `postern demo`, tests and `postern-bench relay`.
public final class LocalNetwork {
    public let loop: EventLoop
    public private(set) var topology: Topology
    public let directoryKey: [UInt8]
    let directorySeed: [UInt8]
    /// The gateways' store settings.
    let mailboxConfig: MailboxConfig
    /// The signed topology, as nodes and clients download it.
    public let topologyText: String
    public private(set) var nodes: [Node] = []
    let keys: [NodeKeys]
    let options: [NodeOptions]
    public let dataDirectory: String
    public var log: (String) -> Void = { _ in }

    public convenience init(layers: Int = 3, gateways: Int = 2, dataDirectory: String, geometry: Geometry = .standard,
                            epoch: UInt32 = 1, mailbox: MailboxConfig = MailboxConfig(),
                            configure: (inout NodeOptions) -> Void = { _ in }) throws(NodeError) {
        var keys: [NodeKeys] = [], infos: [NodeInfo] = [], sockets: [(FileDescriptor, FileDescriptor?)] = []
        for i in 0..<(layers + gateways) {
            let k = NodeKeys.generate(epoch: epoch)
            let isGateway = i >= layers
            // Bound now and handed to the node, so no other process can take the port in between.
            let (link, port) = try Self.bindLoopback()
            let (client, clientPort) = isGateway ? try Self.bindLoopback() : (nil, 0)
            infos.append(NodeInfo(id: k.id, role: isGateway ? .gateway : .mix(layer: i + 1), address: "127.0.0.1:\(port)",
                                  clientAddress: isGateway ? "127.0.0.1:\(clientPort)" : nil, linkKey: k.linkPublic, packetKey: k.packetPublic))
            keys.append(k)
            sockets.append((link, client))
        }
        try self.init(directorySeed: Random.bytes(32), keys: keys, infos: infos, geometry: geometry, epoch: epoch,
                      dataDirectory: dataDirectory, mailbox: mailbox, sockets: sockets, configure: configure)
    }

    init(directorySeed: [UInt8], keys: [NodeKeys], infos: [NodeInfo], geometry: Geometry, epoch: UInt32,
         dataDirectory: String, mailbox: MailboxConfig = MailboxConfig(), sockets: [(FileDescriptor, FileDescriptor?)] = [],
         configure: (inout NodeOptions) -> Void) throws(NodeError) {
        loop = try Self.makeLoop()
        mailboxConfig = mailbox
        self.dataDirectory = dataDirectory
        self.directorySeed = directorySeed
        let directory = Ed25519.KeyPair(seed: directorySeed)
        directoryKey = directory.publicKey
        var options: [NodeOptions] = []
        for info in infos {
            var o = NodeOptions(listen: info.address, clientListen: info.clientAddress)
            configure(&o)
            options.append(o)
        }
        var first = options
        for (i, s) in sockets.enumerated() {
            first[i].listenSocket = s.0
            first[i].clientListenSocket = s.1
        }
        // Signed afresh at every start (a day's validity), verified like a downloaded topology.
        let draft = Topology(epoch: epoch, validUntil: Clock.wallSeconds() + 86_400, geometry: geometry, nodes: infos)
        topologyText = draft.signed(with: directory)
        do {
            topology = try Topology(signedText: topologyText, directoryKey: directoryKey, now: Clock.wallSeconds())
        } catch {
            throw .topology(error)
        }
        self.keys = keys
        self.options = options
        try? Files.makeDirectories(dataDirectory)
        for i in 0..<keys.count { nodes.append(try makeNode(i, options: first[i])) }
    }

    /// The network's secrets (directory seed, every node's keys) and layout, so `restore` brings the same
    /// network back (same ids, ports and mailboxes): `network.keys` in the data directory, mode 0600.
    ///
    ///     postern-local-network 1
    ///     directory SEED  epoch N  geometry HOPS PAYLOAD
    ///     node LINK-SECRET PACKET-SECRET mix|gateway LAYER ADDRESS CLIENT-ADDRESS|-
    public func save() throws(SystemError) {
        var text = "postern-local-network 1\n"
        text += "directory \(Hex.encode(directorySeed)) epoch \(topology.epoch) geometry \(topology.geometry.maxHops) \(topology.geometry.payloadBytes)\n"
        for (k, info) in zip(keys, topology.nodes) {
            let role: String
            switch info.role {
            case .mix(let layer): role = "mix \(layer)"
            case .gateway: role = "gateway 0"
            }
            text += "node \(k.linkSecret.hex) \(k.packetSecret.hex) \(role) \(info.address) \(info.clientAddress ?? "-")\n"
        }
        try Files.writeAtomically(dataDirectory + "/network.keys", Array(text.utf8), mode: 0o600)
    }

    /// The network saved in `dataDirectory`, or nil when there is none.
    public static func restore(dataDirectory: String, configure: (inout NodeOptions) -> Void = { _ in }) throws(NodeError) -> LocalNetwork? {
        guard let bytes = try? Files.read(dataDirectory + "/network.keys") else { return nil }
        let lines = String(decoding: bytes, as: UTF8.self).split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
        guard lines.count >= 3, lines[0] == ["postern-local-network", "1"], lines[1].count == 7, lines[1][0] == "directory",
              let seed = Hex.decode(lines[1][1]), seed.count == 32, let epoch = UInt32(lines[1][3]),
              let hops = Int(lines[1][5]), let payload = Int(lines[1][6]), (1...16).contains(hops), payload >= Geometry.minimumPayloadBytes
        else { throw .damaged(path: dataDirectory + "/network.keys") }
        var keys: [NodeKeys] = [], infos: [NodeInfo] = []
        for f in lines.dropFirst(2) {
            guard f.count == 7, f[0] == "node", let link = Bytes32(hex: f[1]), let packet = Bytes32(hex: f[2]), let layer = Int(f[4]) else {
                throw .damaged(path: dataDirectory + "/network.keys")
            }
            let k = NodeKeys(linkSecret: link, packetSecret: packet, epoch: epoch)
            infos.append(NodeInfo(id: k.id, role: f[3] == "gateway" ? .gateway : .mix(layer: layer), address: f[5],
                                  clientAddress: f[6] == "-" ? nil : f[6], linkKey: k.linkPublic, packetKey: k.packetPublic))
            keys.append(k)
        }
        return try LocalNetwork(directorySeed: seed, keys: keys, infos: infos, geometry: Geometry(maxHops: hops, payloadBytes: payload),
                                epoch: epoch, dataDirectory: dataDirectory, configure: configure)
    }

    static func makeLoop() throws(NodeError) -> EventLoop {
        do { return try EventLoop() } catch { throw .listen("event loop", error) }
    }

    /// A listening socket on 127.0.0.1 at a port the kernel picks, and that port. The socket is kept
    /// (and handed to its node), so the port cannot be taken by anyone else before the node listens.
    static func bindLoopback() throws(NodeError) -> (FileDescriptor, UInt16) {
        do {
            let fd = try TCP.listen("127.0.0.1", 0)
            return (fd, TCP.localPort(fd))
        } catch { throw .listen("127.0.0.1:0", error) }
    }

    public func storePath(_ i: Int) -> String { dataDirectory + "/node\(i)" }

    func makeNode(_ i: Int, options nodeOptions: NodeOptions? = nil) throws(NodeError) -> Node {
        var store: MailboxStore?
        if topology.nodes[i].role == .gateway {
            do { store = try MailboxStore(directory: storePath(i), config: mailboxConfig) } catch { throw .mailbox(error) }
        }
        let node = try Node(keys: keys[i], topology: topology, loop: loop, options: nodeOptions ?? options[i], mailbox: store)
        let name = nodeName(i)
        node.log = { [self] line in self.log("\(name): \(line)") }
        return node
    }

    public func nodeName(_ i: Int) -> String {
        switch topology.nodes[i].role {
        case .mix(let layer): "mix\(layer)"
        case .gateway: "gateway\(i - topology.layers + 1)"
        }
    }

    public func start() throws(NodeError) { for n in nodes { try n.start() } }

    public func stop() { for n in nodes { n.stop() } }

    /// Stops node `i` (closing its store) and starts a fresh process-equivalent: new sockets bound to the
    /// node's published ports again, the store reopened from disk.
    public func restart(_ i: Int) throws(NodeError) {
        nodes[i].stop()
        nodes[i] = try makeNode(i)
        try nodes[i].start()
    }

    public var gateways: [NodeInfo] { topology.gateways }

    /// Runs the loop until `condition` holds or `seconds` pass; true if the condition held.
    public func run(seconds: Double, until condition: () -> Bool) -> Bool {
        let end = EventLoop.now() &+ UInt64(seconds * 1e9)
        while EventLoop.now() < end {
            if condition() { return true }
            loop.run(until: min(end, EventLoop.now() &+ 10_000_000))
        }
        return condition()
    }
}
