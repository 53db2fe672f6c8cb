import PosternCrypto
import PosternNetwork
import PosternPacket
import PosternSystem

/// Why no packet could be built: no route in this epoch's map (the own gateway or a layer missing), or
/// the packet layer refused (the data too long, say).
public enum CourierError: Error, Equatable, CustomStringConvertible {
    case noRoute(String)
    case packet(PacketError)

    public var description: String {
        switch self {
        case .noRoute(let why): "no route through the network right now: \(why)"
        case .packet(let e): e.description
        }
    }
}

/// Turns data for a mailbox into packets: picks a route through this epoch's map (own gateway → one mix
/// per layer → the target gateway) with a sender-chosen exponential delay per hop, and optionally
/// attaches a delivery acknowledgement SURB that brings one `Delivery.Ack` back (mixes → own gateway) to a
/// fresh address the client then watches. Shared by conversations, cover traffic, public chats and the
/// profile's outbox.
public final class Courier {
    public let network: ClientNetwork
    public let ownGateway: Bytes32
    let builder: PacketBuilder
    /// Mean per-hop delay.
    public var meanDelayMicros: Double
    /// Mixes the cover's loops found down: routes avoid them (`HopHealth`, docs/PROTOCOL.md §4.6).
    public var health: HopHealth

    /// What the sender keeps to recognise an acknowledgement: where it arrives and how to open it.
    public struct PendingAck {
        public let address: Bytes32
        public let secrets: SURBSecrets
        public init(address: Bytes32, secrets: SURBSecrets) {
            self.address = address
            self.secrets = secrets
        }
    }

    public init(network: ClientNetwork, ownGateway: Bytes32, meanDelayMicros: Double) {
        self.network = network
        self.ownGateway = ownGateway
        self.meanDelayMicros = meanDelayMicros
        builder = PacketBuilder(geometry: network.parameters.geometry)
        health = HopHealth(retrySeconds: HopHealth.retrySeconds(epochSeconds: network.parameters.epochSeconds))
    }

    /// This epoch's map with the own gateway in it and every layer present.
    func routable() throws(CourierError) -> (Topology, NodeInfo) {
        let map = network.topology
        guard let own = map.gateways.first(where: { $0.id == ownGateway }) else {
            throw .noRoute("your gateway \(ownGateway.hex.prefix(16))… is not in this epoch's map")
        }
        guard map.isRoutable(layers: network.parameters.layers) else {
            throw .noRoute("not every mix layer has a node in this epoch's map (\(map.nodes.count) nodes known)")
        }
        return (map, own)
    }

    /// A mix per layer, avoiding those `health` holds suspect.
    func mixPath(_ map: Topology) -> [NodeInfo] {
        let now = Clock.wallTime()
        return map.randomMixPath(avoiding: { health.isSuspect($0, now: now) })
    }

    /// Most bytes of `data` one packet carries.
    public func capacity(ack: Bool) -> Int { Delivery.capacity(network.parameters.geometry, ack: ack) }

    /// A packet (to submit to the own gateway) delivering `data` to `address` at the gateway with id
    /// `gateway`, with the acknowledgement to wait for when `acknowledge`.
    public func packet(_ data: [UInt8], to address: Bytes32, at gateway: Bytes32,
                       acknowledge: Bool) throws(CourierError) -> (packet: [UInt8], ack: PendingAck?, mixes: [Bytes32]) {
        let (map, own) = try routable()
        guard let target = map.gateways.first(where: { $0.id == gateway }) else {
            throw .noRoute("the gateway \(gateway.hex.prefix(16))… is not in this epoch's map")
        }
        do {
            var surb: SURB?, pending: PendingAck?
            if acknowledge {
                let ackAddress = Bytes32.random()
                let back = (mixPath(map) + [own]).map { map.hop($0, meanDelayMicros: meanDelayMicros) }
                let (s, secrets) = try builder.makeSURB(route: back, mailbox: ackAddress)
                surb = s
                pending = PendingAck(address: ackAddress, secrets: secrets)
            }
            let message = try Delivery.encode(data, ack: surb, geometry: map.geometry)
            let mixes = mixPath(map)
            let route = ([own] + mixes + [target]).map { map.hop($0, meanDelayMicros: meanDelayMicros) }
            return (try builder.build(route: route, to: .mailbox(address), message: message), pending, mixes.map { $0.id })
        } catch {
            throw .packet(error)
        }
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
    /// acknowledgement SURB like real messages, so the own gateway cannot tell them from incoming mail;
    /// so do payload dummies (`acknowledged`), which the drop gateway answers like a stored message: an
    /// acknowledgement comes back for every payload slot, real or not, and what the client fetches does
    /// not show whether it sent messages (docs/ANONYMITY.md §2).
    /// `mixes`: the forward route's mixes (what a lost loop blames).
    public func coverPacket(loop: Bool, acknowledged: Bool = false)
        -> (packet: [UInt8], loopAddress: Bytes32?, ack: PendingAck?, mixes: [Bytes32])? {
        guard let drop = network.topology.randomGateway() else { return nil }
        let target = loop ? ownGateway : drop.id
        let address = loop ? Bytes32.random() : .zero
        let length = 97 + Int(Random.uniform(512))
        guard let (packet, ack, mixes) = try? packet(Random.bytes(length), to: address, at: target, acknowledge: loop || acknowledged) else { return nil }
        return (packet, loop ? address : nil, ack, mixes)
    }
}
