import PosternCrypto
import PosternPacket

/// Packet checks: a 5-hop round trip, a SURB reply, and refusal of a replay and of a tampered payload,
/// all on this CPU (with `ChaCha20Fast` as the hot path uses it).
extension SelfTest {
    static func packetChecks() -> [Check] {
        [("packet: 5-hop round trip, SURB reply, replay and tamper refused", packetRoundTrip)]
    }

    static func packetRoundTrip() -> String? {
        let geometry = Geometry.standard
        let rings = (0..<5).map { _ in Keyring(replayCapacity: 64) }
        for ring in rings { ring.rotate(current: 1) }
        let ids = (0..<5).map { _ in Bytes32.random() }
        let route = (0..<5).map { RouteHop(node: ids[$0], link: NextHop(linkKey: ids[$0]), packetKey: rings[$0].key(for: 1)!.publicKey, epoch: 1) }
        let processors = rings.map { PacketProcessor(geometry: geometry, keyring: $0) }
        let builder = PacketBuilder(geometry: geometry)
        let address = Bytes32.random()
        let message = Array("selftest through five hops".utf8)

        func run(_ packet: inout [UInt8], from first: Int) -> Result<RoutingCommand, PacketError> {
            var at = first
            while true {
                let result = packet.withUnsafeMutableBytes { p in
                    Result { () throws(PacketError) -> RoutingCommand in try processors[at].unwrap(p) }
                }
                guard case .success(let command) = result else { return result }
                guard case .forward(let next, _) = command else { return result }
                guard let index = ids.firstIndex(of: next.linkKey) else { return .failure(.badCommand) }
                at = index
            }
        }

        guard var packet = try? builder.build(route: route, to: .mailbox(address), message: message) else { return "build failed" }
        let original = packet
        guard case .success(.deliver(address)) = run(&packet, from: 0) else { return "round trip did not deliver" }
        let start = geometry.headerBytes + Geometry.zeroPrefixBytes
        guard Array(packet[start..<(start + message.count)]) == message else { return "message differs" }

        var replay = original
        guard case .failure(.replayed) = run(&replay, from: 0) else { return "replay was not refused" }

        guard var tampered = try? builder.build(route: route, to: .mailbox(address), message: message) else { return "build failed" }
        tampered[geometry.headerBytes + 500] ^= 1
        guard case .failure(.taggedPayload) = run(&tampered, from: 0) else { return "tampered payload was not detected" }

        guard let (surb, secrets) = try? builder.makeSURB(route: Array(route[2...]), mailbox: address),
              var reply = try? surb.reply(Array("reply".utf8)) else { return "SURB failed" }
        guard case .success(.deliverReply(address, secrets.id)) = run(&reply, from: 2) else { return "SURB reply not delivered" }
        guard let opened = try? secrets.open(payload: Array(reply[geometry.headerBytes...])),
              Array(opened.prefix(5)) == Array("reply".utf8) else { return "SURB reply did not open" }
        return nil
    }
}
