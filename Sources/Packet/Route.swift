import PosternCrypto

/// One hop of a route, as the sender knows it from the topology.
public struct RouteHop: Equatable, Sendable {
    /// The node's id (what route health and the sender's map know it by).
    public var node: Bytes32
    /// How the previous hop's `forward` (or a SURB, for the first hop) names the node: its link key and,
    /// if its descriptor gives an IP literal, its address.
    public var link: NextHop
    /// The node's packet public key for `epoch`.
    public var packetKey: Bytes32
    public var epoch: UInt32
    /// How long this hop holds the packet before passing it on (ignored at the final hop).
    public var delayMicros: UInt32

    public init(node: Bytes32, link: NextHop, packetKey: Bytes32, epoch: UInt32, delayMicros: UInt32 = 0) {
        self.node = node
        self.link = link
        self.packetKey = packetKey
        self.epoch = epoch
        self.delayMicros = delayMicros
    }
}

/// Where a packet ends: a mailbox, or a mailbox as the reply to a SURB.
public enum Destination: Equatable, Sendable {
    case mailbox(Bytes32)
    case reply(mailbox: Bytes32, surb: SURBID)

    var command: RoutingCommand {
        switch self {
        case .mailbox(let address): .deliver(address: address)
        case .reply(let address, let id): .deliverReply(address: address, surbID: id)
        }
    }
}
