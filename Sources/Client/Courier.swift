import PosternCrypto
import PosternNetwork
import PosternPacket
import PosternSystem

/// Turns data for a mailbox into packets: picks a route (own gateway → one mix per layer → the target
/// gateway) with a sender-chosen exponential delay per hop, and optionally attaches a delivery
/// acknowledgement SURB that brings one `Delivery.Ack` back (mixes → own gateway) to a fresh address
/// the client then watches. Shared by conversations, cover traffic and the profile's outbox.
public final class Courier {
    public let topology: Topology
    public let ownGateway: NodeInfo
    let builder: PacketBuilder
    /// Mean per-hop delay.
    public var meanDelayMicros: Double

    /// What the sender keeps to recognise an acknowledgement: where it arrives and how to open it.
    public struct PendingAck {
        public let address: Bytes32
        public let secrets: SURBSecrets
        public init(address: Bytes32, secrets: SURBSecrets) {
            self.address = address
            self.secrets = secrets
        }
    }

    public init(topology: Topology, ownGateway: NodeInfo, meanDelayMicros: Double) {
        self.topology = topology
        self.ownGateway = ownGateway
        self.meanDelayMicros = meanDelayMicros
        builder = PacketBuilder(geometry: topology.geometry)
    }

    func hop(_ n: NodeInfo) -> RouteHop { topology.hop(n, meanDelayMicros: meanDelayMicros) }

    func mixes() -> [NodeInfo] { topology.randomMixPath() }

    /// own gateway → a mix per layer → `last`.
    public func route(to last: NodeInfo) -> [RouteHop] { ([ownGateway] + mixes() + [last]).map(hop) }

    /// Most bytes of `data` one packet carries.
    public func capacity(ack: Bool) -> Int { Delivery.capacity(topology.geometry, ack: ack) }

    /// A packet (to submit to the own gateway) delivering `data` to `address` at `gateway`, with the
    /// acknowledgement to wait for when `acknowledge`.
    public func packet(_ data: [UInt8], to address: Bytes32, at gateway: NodeInfo,
                       acknowledge: Bool) throws(PacketError) -> (packet: [UInt8], ack: PendingAck?) {
        var surb: SURB?, pending: PendingAck?
        if acknowledge {
            let ackAddress = Bytes32.random()
            let (s, secrets) = try builder.makeSURB(route: (mixes() + [ownGateway]).map(hop), mailbox: ackAddress)
            surb = s
            pending = PendingAck(address: ackAddress, secrets: secrets)
        }
        let message = try Delivery.encode(data, ack: surb, geometry: topology.geometry)
        return (try builder.build(route: route(to: gateway), to: .mailbox(address), message: message), pending)
    }

    /// Opens a blob fetched at an acknowledgement address: 0x02 ‖ SURB id ‖ reply payload.
    public static func openAck(_ blob: [UInt8], _ pending: PendingAck) -> Delivery.Ack? {
        guard blob.count > 17, blob[0] == StoredKind.reply.code else { return nil }
        let words = blob.withUnsafeBytes { ($0.loadUnaligned(fromByteOffset: 1, as: UInt64.self), $0.loadUnaligned(fromByteOffset: 9, as: UInt64.self)) }
        guard SURBID(words: words) == pending.secrets.id,
              let message = try? pending.secrets.open(payload: Array(blob[17...])), let code = message.first else { return nil }
        return Delivery.Ack(code: code)
    }

    /// A cover packet: to the all-zero drop address at a random gateway (drop stream, and payload slots
    /// with nothing to send), or to a fresh address at the own gateway (loop stream). Same size, format
    /// and encryption as a real message, with a random body as long as a ratchet message. Loops carry an
    /// acknowledgement SURB like real messages, so the own gateway cannot tell them from incoming mail.
    public func coverPacket(loop: Bool) -> (packet: [UInt8], loopAddress: Bytes32?, ack: PendingAck?)? {
        let gateways = topology.gateways
        let target = loop ? ownGateway : gateways[Int(Random.uniform(UInt32(gateways.count)))]
        let address = loop ? Bytes32.random() : .zero
        let length = 97 + Int(Random.uniform(512))
        guard let (packet, ack) = try? packet(Random.bytes(length), to: address, at: target, acknowledge: loop) else { return nil }
        return (packet, loop ? address : nil, ack)
    }
}
