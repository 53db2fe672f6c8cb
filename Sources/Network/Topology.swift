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

/// One node as an epoch's map lists it.
public struct NodeInfo: Equatable, Sendable {
    public var id: Bytes32
    public var role: NodeRole
    /// Where other nodes connect (Noise XK with `linkKey`).
    public var address: String
    /// Where clients connect (Noise NK with `linkKey`); gateways only.
    public var clientAddress: String?
    public var linkKey: Bytes32
    /// Packet key for the map's epoch.
    public var packetKey: Bytes32

    public init(id: Bytes32, role: NodeRole, address: String, clientAddress: String? = nil, linkKey: Bytes32, packetKey: Bytes32) {
        self.id = id
        self.role = role
        self.address = address
        self.clientAddress = clientAddress
        self.linkKey = linkKey
        self.packetKey = packetKey
    }

    /// How a packet names this node (format 3): its link key and, when `address` is an IP literal, the
    /// address (docs/PROTOCOL.md §2.2).
    public var nextHop: NextHop { NextHop(linkKey: linkKey, endpoint: address) }
}

/// The network's map for one epoch (`NetworkView.topology`): mix layers and gateways with their addresses,
/// link keys and that epoch's packet keys. Built by every node and client from the signed descriptors
/// they hold (docs/PROTOCOL.md §5.5); nobody signs or distributes it as a whole.
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
}
