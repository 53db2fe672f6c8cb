import PosternCrypto
import PosternPacket
import PosternSystem

/// One relay's keys and processor, made once per process: every input is a packet sent to it.
final class FuzzRelay {
    nonisolated(unsafe) static let shared = FuzzRelay()
    let geometry = Geometry.standard
    let id = Bytes32([UInt8](repeating: 0x11, count: 32))!
    let next = Bytes32([UInt8](repeating: 0x22, count: 32))!
    let epochKey = EpochKey(epoch: 7, secret: SecretKey(copying: [UInt8](repeating: 0x42, count: 32)), replayCapacity: 1 << 16)
    let keyring = Keyring(replayCapacity: 1 << 16)
    let processor: PacketProcessor
    let builder: PacketBuilder

    init() {
        keyring.add(epochKey)
        processor = PacketProcessor(geometry: geometry, keyring: keyring)
        builder = PacketBuilder(geometry: geometry)
    }

    func hop(_ node: Bytes32, delay: UInt32 = 1000) -> RouteHop {
        RouteHop(node: node, link: NextHop(linkKey: node, address: IPAddress("127.0.0.2"), port: 9000),
                 packetKey: epochKey.publicKey, epoch: 7, delayMicros: delay)
    }
}

/// Packet unwrap at a relay: any packet-sized bytes are refused or unwrapped, and a packet unwrapped once
/// is refused as a replay the second time.
func packetTarget() -> FuzzTarget {
    FuzzTarget(name: "packet", summary: "PacketProcessor.unwrap at a relay (packet-sized input); an accepted packet is a replay the second time",
               seeds: {
        let r = FuzzRelay.shared
        var seeds: [[UInt8]] = []
        for (i, route) in [[r.hop(r.id), r.hop(r.next)], [r.hop(r.id)], [r.hop(r.id), r.hop(r.next), r.hop(r.next), r.hop(r.next), r.hop(r.next)]].enumerated() {
            if let p = try? r.builder.build(route: route, to: .mailbox(Bytes32([UInt8](repeating: UInt8(i), count: 32))!), message: [1, 2, 3]) { seeds.append(p) }
        }
        return seeds
    }, run: { input in
        let r = FuzzRelay.shared
        let original = sized(input, r.geometry.packetBytes)
        var packet = original
        let accepted = packet.withUnsafeMutableBytes { (try? r.processor.unwrap($0)) != nil }
        if accepted {
            var again = original
            let replayed = again.withUnsafeMutableBytes { p -> Bool in
                do throws(PacketError) { _ = try r.processor.unwrap(p); return false } catch { return error == .replayed }
            }
            Fuzz.require(replayed, "a packet unwrapped twice")
        }
    })
}

/// A routing slot: its creator chooses and MACs these bytes, so a relay reads them as hostile.
func routingTarget() -> FuzzTarget {
    FuzzTarget(name: "routing", summary: "RoutingCommand(slot:) on a decrypted routing slot; what decodes re-encodes to the same command",
               seeds: {
        let r = FuzzRelay.shared
        return [RoutingCommand.forward(next: NextHop(linkKey: r.next), delayMicros: 5000),
                .forward(next: NextHop(linkKey: r.next, address: IPAddress("2001:db8::7"), port: 443), delayMicros: 1), .deliver(address: r.id),
                .deliverReply(address: r.next, surbID: SURBID(words: (1, 2)))].map { c in
            var slot = [UInt8](repeating: 0, count: Geometry.slotBytes)
            slot.withUnsafeMutableBytes { c.encodeSlot(into: $0) }
            return slot
        }
    }, run: { input in
        let slot = sized(input, Geometry.slotBytes)
        guard let command = slot.withUnsafeBytes({ RoutingCommand(slot: $0) }) else { return }
        var again = [UInt8](repeating: 0, count: Geometry.slotBytes)
        again.withUnsafeMutableBytes { command.encodeSlot(into: $0) }
        Fuzz.require(again.withUnsafeBytes { RoutingCommand(slot: $0) } == command, "routing slot does not round-trip")
    })
}

/// The message area a final gateway reads (the sender chose it): length, data and an acknowledgement
/// SURB the gateway then answers through, straight into a packet buffer.
func deliveryTarget() -> FuzzTarget {
    FuzzTarget(name: "delivery", summary: "Delivery.parse of a delivered message area and SURB.writeReply through its SURB",
               seeds: {
        let r = FuzzRelay.shared
        var seeds: [[UInt8]] = []
        if let message = try? Delivery.encode([1, 2, 3, 4], ack: nil, geometry: r.geometry) { seeds.append(message) }
        if let (surb, _) = try? r.builder.makeSURB(route: [r.hop(r.next), r.hop(r.id)], mailbox: r.id),
           let message = try? Delivery.encode([9, 8, 7], ack: surb, geometry: r.geometry) { seeds.append(message) }
        return seeds
    }, run: { input in
        let g = FuzzRelay.shared.geometry
        let area = sized(input, g.messageBytes)
        area.withUnsafeBytes { a in
            guard let (data, ack) = Delivery.parse(a.baseAddress!, geometry: g) else { return }
            let end = (data.baseAddress! - a.baseAddress!) + data.count + (ack == nil ? 0 : SURB.serializedBytes(g))
            Fuzz.require(end <= g.messageBytes, "delivery parse reaches past the message area")
            guard let ack else { return }
            var packet = [UInt8](repeating: 0, count: g.packetBytes)
            let reply: [UInt8] = [Delivery.Ack.stored.code]
            reply.withUnsafeBytes { m in packet.withUnsafeMutableBytes { SURB.writeReply(serialized: ack, geometry: g, message: m, into: $0.baseAddress!) } }
        }
    })
}

/// What a client reads back through its SURBs, and the SURB records it keeps on disk.
func surbReplyTarget() -> FuzzTarget {
    final class Keys {
        nonisolated(unsafe) static let shared = Keys()
        let surb: SURB
        let secrets: SURBSecrets
        init() {
            let r = FuzzRelay.shared
            (surb, secrets) = try! r.builder.makeSURB(route: [r.hop(r.next), r.hop(r.id)], mailbox: r.id)
        }
    }
    return FuzzTarget(name: "surb-reply", summary: "SURBSecrets.open of a reply payload (mode 0), SURB/SURBSecrets(serialized:) records (1, 2); records round-trip",
                      seeds: {
        let k = Keys.shared
        var seeds: [[UInt8]] = [[1] + k.surb.serialized, [2] + k.secrets.serialized]
        if let reply = try? k.surb.reply([Delivery.Ack.stored.code]) { seeds.append([0] + Array(reply[FuzzRelay.shared.geometry.headerBytes...])) }
        return seeds
    }, run: { input in
        let k = Keys.shared, g = FuzzRelay.shared.geometry
        var f = FuzzInput(input)
        switch f.byte() % 3 {
        case 0:
            _ = try? k.secrets.open(payload: sized(f.rest, g.payloadBytes))
            _ = try? k.secrets.open(payload: f.rest)
        case 1:
            if let s = SURB(serialized: f.rest, geometry: g) { Fuzz.require(s.serialized == f.rest, "SURB record does not round-trip") }
        default:
            if let s = SURBSecrets(serialized: f.rest, geometry: g) { Fuzz.require(s.serialized == f.rest, "SURB secrets record does not round-trip") }
        }
    })
}
