import PosternCrypto
import PosternMailbox
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
    public private(set) var nodes: [Node] = []
    let keys: [NodeKeys]
    let options: [NodeOptions]
    public let dataDirectory: String
    public var log: (String) -> Void = { _ in }

    public init(layers: Int = 3, gateways: Int = 2, dataDirectory: String, geometry: Geometry = .standard,
                epoch: UInt32 = 1, configure: (inout NodeOptions) -> Void = { _ in }) throws(NodeError) {
        loop = try Self.makeLoop()
        self.dataDirectory = dataDirectory
        let directory = Ed25519.KeyPair(seed: Random.bytes(32))
        directoryKey = directory.publicKey
        var keys: [NodeKeys] = [], infos: [NodeInfo] = [], options: [NodeOptions] = []
        for i in 0..<(layers + gateways) {
            let k = NodeKeys.generate(epoch: epoch)
            let isGateway = i >= layers
            let port = try Self.freePort(), clientPort = isGateway ? try Self.freePort() : 0
            let address = "127.0.0.1:\(port)", client = isGateway ? "127.0.0.1:\(clientPort)" : nil
            infos.append(NodeInfo(id: k.id, role: isGateway ? .gateway : .mix(layer: i + 1), address: address,
                                  clientAddress: client, linkKey: k.linkPublic, packetKey: k.packetPublic))
            keys.append(k)
            var o = NodeOptions(listen: address, clientListen: client)
            configure(&o)
            options.append(o)
        }
        let draft = Topology(epoch: epoch, validUntil: Clock.wallSeconds() + 86_400, geometry: geometry, nodes: infos)
        do {
            topology = try Topology(signedText: draft.signed(with: directory), directoryKey: directoryKey, now: Clock.wallSeconds())
        } catch {
            throw .badAddress("topology: \(error.description)")
        }
        self.keys = keys
        self.options = options
        try? Files.makeDirectories(dataDirectory)
        for i in 0..<keys.count { nodes.append(try makeNode(i)) }
    }

    static func makeLoop() throws(NodeError) -> EventLoop {
        do { return try EventLoop() } catch { throw .listen("event loop", error) }
    }

    /// A port nobody listens on right now (bound, read and released).
    static func freePort() throws(NodeError) -> UInt16 {
        do {
            let fd = try TCP.listen("127.0.0.1", 0)
            defer { TCP.close(fd) }
            return TCP.localPort(fd)
        } catch { throw .listen("127.0.0.1:0", error) }
    }

    public func storePath(_ i: Int) -> String { dataDirectory + "/node\(i)" }

    func makeNode(_ i: Int) throws(NodeError) -> Node {
        var store: MailboxStore?
        if topology.nodes[i].role == .gateway {
            do { store = try MailboxStore(directory: storePath(i)) } catch { throw .badAddress("mailbox: \(error.description)") }
        }
        let node = try Node(keys: keys[i], topology: topology, loop: loop, options: options[i], mailbox: store)
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

    /// Stops node `i` (closing its store) and starts a fresh process-equivalent: new sockets, the store
    /// reopened from disk.
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
