import PosternCrypto
import PosternPacket
import PosternSystem

/// What a node does in the network.
public enum NodeRole: Equatable, Sendable {
    /// A mix in layer 1, 2, 3, …: unwraps, holds for the packet's delay, forwards.
    case mix(layer: Int)
    /// A gateway: clients enter and leave the mixnet here; final hops deposit into its mailbox store.
    case gateway
}

/// One node as the topology publishes it.
public struct NodeInfo: Equatable, Sendable {
    public var id: Bytes32
    public var role: NodeRole
    /// Where other nodes connect (Noise XK with `linkKey`).
    public var address: String
    /// Where clients connect (Noise NK with `linkKey`); gateways only.
    public var clientAddress: String?
    public var linkKey: Bytes32
    /// Packet key for the topology's epoch.
    public var packetKey: Bytes32

    public init(id: Bytes32, role: NodeRole, address: String, clientAddress: String? = nil, linkKey: Bytes32, packetKey: Bytes32) {
        self.id = id
        self.role = role
        self.address = address
        self.clientAddress = clientAddress
        self.linkKey = linkKey
        self.packetKey = packetKey
    }

    /// A node's id is the BLAKE2b-256 of its link public key: a topology cannot pair an id with
    /// someone else's key.
    public static func id(forLinkKey key: Bytes32) -> Bytes32 {
        Bytes32(BLAKE2b.hash(Array("postern/node-id/v1".utf8) + key.bytes, outputCount: 32))!
    }
}

public enum TopologyError: Error, Equatable, CustomStringConvertible {
    case malformed(line: Int, String)
    case unsigned
    case badSignature
    case stale(validUntil: Int64)
    case inconsistent(String)

    public var description: String {
        switch self {
        case .malformed(let line, let why): "topology line \(line): \(why)"
        case .unsigned: "topology is not signed"
        case .badSignature: "topology signature does not verify with the directory key"
        case .stale(let t): "topology expired (valid until \(t))"
        case .inconsistent(let why): "topology is inconsistent: \(why)"
        }
    }
}

/// The network's map (v0): mix layers, gateways, addresses, link and packet keys for one epoch, signed
/// by the directory's Ed25519 key. Text format (docs/OPERATING.md):
///
///     postern-topology 1
///     epoch <n>
///     valid-until <unix seconds>
///     geometry <maxHops> <payloadBytes>
///     node <id> mix <layer> <host:port> - <link key> <packet key>
///     node <id> gateway 0 <host:port> <client host:port> <link key> <packet key>
///     signature <ed25519 signature over every byte before this line>
public struct Topology: Equatable {
    public var epoch: UInt32
    public var validUntil: Int64
    public var geometry: Geometry
    public var nodes: [NodeInfo]

    public init(epoch: UInt32, validUntil: Int64, geometry: Geometry, nodes: [NodeInfo]) {
        self.epoch = epoch
        self.validUntil = validUntil
        self.geometry = geometry
        self.nodes = nodes
    }

    public var layers: Int { nodes.reduce(0) { if case .mix(let l) = $1.role { return max($0, l) } else { return $0 } } }
    public func mixes(layer: Int) -> [NodeInfo] { nodes.filter { $0.role == .mix(layer: layer) } }
    public var gateways: [NodeInfo] { nodes.filter { $0.role == .gateway } }
    public func node(_ id: Bytes32) -> NodeInfo? { nodes.first { $0.id == id } }

    var body: String {
        var text = "postern-topology 1\nepoch \(epoch)\nvalid-until \(validUntil)\ngeometry \(geometry.maxHops) \(geometry.payloadBytes)\n"
        for n in nodes {
            switch n.role {
            case .mix(let layer):
                text += "node \(n.id.hex) mix \(layer) \(n.address) - \(n.linkKey.hex) \(n.packetKey.hex)\n"
            case .gateway:
                text += "node \(n.id.hex) gateway 0 \(n.address) \(n.clientAddress ?? "-") \(n.linkKey.hex) \(n.packetKey.hex)\n"
            }
        }
        return text
    }

    /// The signed text form.
    public func signed(with directory: borrowing Ed25519.KeyPair) -> String {
        let text = body
        return text + "signature \(Hex.encode(Ed25519.sign(Array(text.utf8), secretKey: directory.secretKey)))\n"
    }

    /// Parses and verifies a signed topology: signature by `directoryKey`, not expired at `now`.
    public init(signedText text: String, directoryKey: [UInt8], now: Int64) throws(TopologyError) {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard let sigIndex = lines.firstIndex(where: { $0.hasPrefix("signature ") }) else { throw .unsigned }
        let signed = lines[..<sigIndex].map { $0 + "\n" }.joined()
        let sigHex = lines[sigIndex].dropFirst("signature ".count)
        guard let signature = Hex.decode(String(sigHex)), Ed25519.verify(signature, Array(signed.utf8), publicKey: directoryKey)
        else { throw .badSignature }
        self = try Topology.parse(lines[..<sigIndex].map(String.init))
        guard validUntil >= now else { throw .stale(validUntil: validUntil) }
    }

    /// Parses an unsigned draft (for `postern topology sign`).
    public init(draftText: String) throws(TopologyError) {
        let lines = draftText.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.contains(where: { $0.hasPrefix("signature ") }) { throw .malformed(line: 0, "the draft is already signed") }
        self = try Topology.parse(lines)
    }

    static func parse(_ lines: [String]) throws(TopologyError) -> Topology {
        var epoch: UInt32?, validUntil: Int64?, geometry: Geometry?
        var nodes: [NodeInfo] = []
        for (i, line) in lines.enumerated() {
            let n = i + 1
            let f = line.split(separator: " ").map(String.init)
            guard let keyword = f.first else { continue }
            switch keyword {
            case "postern-topology":
                guard f.count == 2, f[1] == "1" else { throw .malformed(line: n, "unsupported topology version") }
            case "epoch":
                guard f.count == 2, let e = UInt32(f[1]) else { throw .malformed(line: n, "bad epoch") }
                epoch = e
            case "valid-until":
                guard f.count == 2, let t = Int64(f[1]) else { throw .malformed(line: n, "bad valid-until") }
                validUntil = t
            case "geometry":
                guard f.count == 3, let h = Int(f[1]), let p = Int(f[2]), h >= 1, h <= 16, p >= Geometry.minimumPayloadBytes
                else { throw .malformed(line: n, "bad geometry") }
                geometry = Geometry(maxHops: h, payloadBytes: p)
            case "node":
                guard f.count == 8, let id = Bytes32(hex: f[1]), let layer = Int(f[3]),
                      let link = Bytes32(hex: f[6]), let packet = Bytes32(hex: f[7]), TCP.parse(f[4]) != nil
                else { throw .malformed(line: n, "bad node line") }
                let role: NodeRole
                switch f[2] {
                case "mix" where layer >= 1: role = .mix(layer: layer)
                case "gateway": role = .gateway
                default: throw .malformed(line: n, "role must be 'mix <layer ≥ 1>' or 'gateway 0'")
                }
                guard NodeInfo.id(forLinkKey: link) == id else { throw .malformed(line: n, "node id does not match its link key") }
                let client = f[5] == "-" ? nil : f[5]
                if let client, TCP.parse(client) == nil { throw .malformed(line: n, "bad client address") }
                nodes.append(NodeInfo(id: id, role: role, address: f[4], clientAddress: client, linkKey: link, packetKey: packet))
            default:
                throw .malformed(line: n, "unknown keyword '\(keyword)'")
            }
        }
        guard let epoch, let validUntil, let geometry else { throw .inconsistent("epoch, valid-until and geometry are required") }
        let topology = Topology(epoch: epoch, validUntil: validUntil, geometry: geometry, nodes: nodes)
        guard !topology.gateways.isEmpty else { throw .inconsistent("no gateway") }
        for layer in 1...max(1, topology.layers) where topology.mixes(layer: layer).isEmpty {
            throw .inconsistent("mix layer \(layer) is empty")
        }
        guard topology.layers + 2 <= geometry.maxHops else { throw .inconsistent("routes would exceed maxHops") }
        return topology
    }
}
