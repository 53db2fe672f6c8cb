import PosternCrypto
import PosternMailbox
import PosternNetwork
import PosternNode
import PosternPacket
import PosternStore
import PosternSystem

/// A complete mixnet on loopback in one process: `mixes` mixes (one per layer unless more are asked for;
/// the map deals them to the `layers` layers) and `gateways` gateways, each a real `Node` with its own
/// listening sockets, Noise links over TCP, packet keys that rotate with the epochs, its own state store
/// and (gateways) LMDB mailbox under `dataDirectory`. Every node learns
/// the others' signed descriptors at start (as from a bootstrap node that knows everyone) and keeps
/// gossiping with node 0 and the others afterwards. For `postern demo`, `postern testnet`, tests and
/// `postern-bench relay`.
public final class LocalNetwork {
    public let loop: EventLoop
    public let parameters: NetworkParameters
    /// The gateways' store settings.
    let mailboxConfig: MailboxConfig
    public private(set) var nodes: [Node] = []
    let secrets: [NodeSecrets]
    let roles: [NodeDescriptor.Roles]
    let options: [NodeOptions]
    public let dataDirectory: String
    public var log: (String) -> Void = { _ in }

    /// Short epochs for tests: the network parameters with `epochSeconds` and `layers`.
    public static func parameters(layers: Int, epochSeconds: UInt32 = 3600, geometry: Geometry = .standard,
                                  layerRule: LayerRule = .deal, pushWorkBits: UInt8 = 0) -> NetworkParameters {
        NetworkParameters(epochSeconds: epochSeconds, layers: layers, geometry: geometry, admission: .open, layerRule: layerRule,
                          pushWorkBits: pushWorkBits)
    }

    public convenience init(layers: Int = 3, mixes: Int? = nil, gateways: Int = 2, dataDirectory: String, epochSeconds: UInt32 = 3600,
                            geometry: Geometry = .standard, layerRule: LayerRule = .deal, pushWorkBits: UInt8 = 0,
                            mailbox: MailboxConfig = MailboxConfig(), configure: (inout NodeOptions) -> Void = { _ in }) throws(NodeError) {
        var secrets: [NodeSecrets] = [], roles: [NodeDescriptor.Roles] = [], addresses: [(String, String?)] = []
        var sockets: [(FileDescriptor, FileDescriptor?)] = []
        let mixCount = max(mixes ?? layers, layers)
        for i in 0..<(mixCount + gateways) {
            let isGateway = i >= mixCount
            // Bound now and handed to the node, so no other process can take the port in between.
            let (link, port) = try Self.bindLoopback()
            let (client, clientPort) = isGateway ? try Self.bindLoopback() : (nil, 0)
            secrets.append(NodeSecrets.generate())
            roles.append(isGateway ? .gateway : .mix)
            addresses.append(("127.0.0.1:\(port)", isGateway ? "127.0.0.1:\(clientPort)" : nil))
            sockets.append((link, client))
        }
        try self.init(parameters: Self.parameters(layers: layers, epochSeconds: epochSeconds, geometry: geometry, layerRule: layerRule,
                                                  pushWorkBits: pushWorkBits), secrets: secrets,
                      roles: roles, addresses: addresses, dataDirectory: dataDirectory, mailbox: mailbox, sockets: sockets,
                      configure: configure)
    }

    init(parameters: NetworkParameters, secrets: [NodeSecrets], roles: [NodeDescriptor.Roles], addresses: [(String, String?)],
         dataDirectory: String, mailbox: MailboxConfig = MailboxConfig(), sockets: [(FileDescriptor, FileDescriptor?)] = [],
         configure: (inout NodeOptions) -> Void) throws(NodeError) {
        loop = try Self.makeLoop()
        self.parameters = parameters
        mailboxConfig = mailbox
        self.dataDirectory = dataDirectory
        self.secrets = secrets
        self.roles = roles
        var options: [NodeOptions] = []
        for (i, (address, client)) in addresses.enumerated() {
            var o = NodeOptions(listen: address, clientListen: client)
            o.roles = roles[i]
            o.packetKeysPath = dataDirectory + "/node\(i)/packet.keys"
            if i > 0 { o.bootstrap = [Peer(address: addresses[0].0, linkKey: secrets[0].linkPublic)] }
            configure(&o)
            options.append(o)
        }
        var first = options
        for (i, s) in sockets.enumerated() {
            first[i].listenSocket = s.0
            first[i].clientListenSocket = s.1
        }
        self.options = options
        do { try Files.makeDirectories(dataDirectory) } catch { throw .listen(dataDirectory, error) }
        for i in 0..<secrets.count { nodes.append(try makeNode(i, options: first[i])) }
    }

    /// The network's secrets and layout, so `restore` brings the same network back (same ids, ports,
    /// packet keys and mailboxes): `network.keys` in the data directory, mode 0600.
    ///
    ///     postern-local-network 2
    ///     network EPOCH-SECONDS LAYERS HOPS PAYLOAD
    ///     node IDENTITY-SEED LINK-SECRET mix|gateway ADDRESS CLIENT-ADDRESS|-
    public func save() throws(SystemError) {
        var text = "postern-local-network 2\n"
        text += "network \(parameters.epochSeconds) \(parameters.layers) \(parameters.geometry.maxHops) \(parameters.geometry.payloadBytes)\n"
        for (i, s) in secrets.enumerated() {
            text += "node \(s.identitySeedHex) \(s.linkSecret.hex) "
                + "\(roles[i].isGateway ? "gateway" : "mix") \(options[i].listen) \(options[i].clientListen ?? "-")\n"
        }
        try Files.writeAtomically(dataDirectory + "/network.keys", Array(text.utf8), mode: 0o600)
    }

    /// The network saved in `dataDirectory`, or nil when there is none.
    public static func restore(dataDirectory: String, configure: (inout NodeOptions) -> Void = { _ in }) throws(NodeError) -> LocalNetwork? {
        let path = dataDirectory + "/network.keys"
        guard let bytes = try? Files.read(path) else { return nil }
        let lines = String(decoding: bytes, as: UTF8.self).split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
        guard lines.count >= 3, lines[0] == ["postern-local-network", "2"], lines[1].count == 5, lines[1][0] == "network",
              let epochSeconds = UInt32(lines[1][1]), let layers = Int(lines[1][2]), let hops = Int(lines[1][3]),
              let payload = Int(lines[1][4]), (1...16).contains(hops), payload >= Geometry.minimumPayloadBytes, payload <= 60_000
        else {
            if lines.first == ["postern-local-network", "1"] { throw .config("\(path) is from an older Postern (one-epoch topology); use a new directory") }
            throw .damaged(path: path)
        }
        var secrets: [NodeSecrets] = [], roles: [NodeDescriptor.Roles] = [], addresses: [(String, String?)] = []
        for f in lines.dropFirst(2) {
            guard f.count == 6, f[0] == "node", let identity = Bytes32(hex: f[1]), let link = Bytes32(hex: f[2]),
                  f[3] == "mix" || f[3] == "gateway" else { throw .damaged(path: path) }
            secrets.append(NodeSecrets(identitySeed: identity, linkSecret: link))
            roles.append(f[3] == "gateway" ? .gateway : .mix)
            addresses.append((f[4], f[5] == "-" ? nil : f[5]))
        }
        let parameters = NetworkParameters(epochSeconds: epochSeconds, layers: layers, geometry: Geometry(maxHops: hops, payloadBytes: payload))
        return try LocalNetwork(parameters: parameters, secrets: secrets, roles: roles, addresses: addresses,
                                dataDirectory: dataDirectory, configure: configure)
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

    /// Node `i`'s directory: `mailbox/` (gateways), `state/` (its view), `packet.keys`.
    public func nodeDirectory(_ i: Int) -> String { dataDirectory + "/node\(i)" }

    func makeNode(_ i: Int, options nodeOptions: NodeOptions? = nil) throws(NodeError) -> Node {
        let dir = nodeDirectory(i)
        do { try Files.makeDirectories(dir) } catch { throw .listen(dir, error) }
        var store: MailboxStore?
        if roles[i].isGateway {
            do { store = try MailboxStore(directory: dir + "/mailbox", config: mailboxConfig) } catch { throw .mailbox(error) }
        }
        let state: RecordStore
        do { state = try RecordStore(directory: dir + "/state", mapSize: 64 << 20) } catch { throw .mailbox(.store(error)) }
        let node = try Node(secrets: secrets[i], network: parameters, loop: loop, options: nodeOptions ?? options[i],
                            mailbox: store, state: state)
        let name = nodeName(i)
        node.log = { [self] line in self.log("\(name): \(line)") }
        return node
    }

    public func nodeName(_ i: Int) -> String {
        roles[i].isGateway ? "gateway\(i - roles.prefix(i).filter { !$0.isGateway }.count + 1)" : "mix\(i + 1)"
    }

    /// Starts every node, then hands each the others' descriptors (as a bootstrap node knowing everyone
    /// would), so the network routes at once.
    public func start() throws(NodeError) {
        for n in nodes { try n.start() }
        introduce()
    }

    /// Every running node learns every other running node's current descriptor.
    func introduce() {
        let all = nodes.compactMap { $0.descriptor?.bytes }
        for n in nodes { n.learn(all) }
    }

    public func stop() { for n in nodes { n.stop() } }

    /// Stops node `i` (closing its stores) and starts a fresh process-equivalent: new sockets bound to
    /// the node's published ports again, the stores reopened from disk.
    public func restart(_ i: Int) throws(NodeError) {
        nodes[i].stop()
        nodes[i] = try makeNode(i)
        try nodes[i].start()
        introduce()
    }

    /// This epoch's map as node 0 sees it.
    public var topology: Topology { nodes[0].topology }

    /// Node `i` as this epoch's map lists it (its packet key for the current epoch).
    public func info(_ i: Int) -> NodeInfo {
        let id = secrets[i].id
        return nodes.lazy.compactMap { $0.topology.nodes.first { $0.id == id } }.first
            ?? NodeInfo(id: id, role: roles[i].isGateway ? .gateway : .mix(layer: 1), address: options[i].listen,
                        clientAddress: options[i].clientListen, linkKey: secrets[i].linkPublic, packetKey: .zero)
    }

    /// The gateways, in node order.
    public var gateways: [NodeInfo] { (0..<nodes.count).filter { roles[$0].isGateway }.map(info) }

    /// Where a client bootstraps: gateway `n`'s client address and link key.
    public func gatewayPeer(_ n: Int = 0) -> Peer {
        let g = gateways[n]
        return Peer(address: g.clientAddress ?? g.address, linkKey: g.linkKey)
    }

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
