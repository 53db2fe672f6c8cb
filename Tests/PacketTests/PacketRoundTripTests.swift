import PosternCrypto
import PosternPacket
import Testing

@Suite struct PacketRoundTripTests {
    let net = TestNetwork(nodes: 6)

    func message(_ n: Int) -> [UInt8] { Random.bytes(n) }

    @Test(arguments: 1...5)
    func deliverThroughRoute(hops: Int) throws {
        let builder = PacketBuilder(geometry: net.geometry)
        let address = Bytes32.random()
        let text = message(net.geometry.messageBytes - hops)
        let packet = try builder.build(route: net.route(Array(0..<hops)), to: .mailbox(address), message: text)
        #expect(packet.count == net.geometry.packetBytes)
        let trace = net.run(packet, from: 0)
        #expect(trace.error == nil)
        #expect(trace.hops == Array(0..<hops))
        #expect(trace.command == .deliver(address: address))
        let body = Array(trace.final[(net.geometry.headerBytes + 16)...])
        #expect(Array(body[0..<text.count]) == text)
        #expect(body[text.count...].allSatisfy { $0 == 0 })
    }

    @Test func forwardCarriesDelayAndNextHop() throws {
        let builder = PacketBuilder(geometry: net.geometry)
        var packet = try builder.build(route: net.route([2, 4, 1]), to: .mailbox(.random()), message: [1, 2, 3])
        let command = try packet.withUnsafeMutableBytes { (p) throws(PacketError) in try net.nodes[2].processor.unwrap(p) }
        #expect(command == .forward(next: NextHop(linkKey: net.nodes[4].id), delayMicros: 3000))
    }

    @Test(arguments: 1...5)
    func surbRoundTrip(hops: Int) throws {
        let builder = PacketBuilder(geometry: net.geometry)
        let mailbox = Bytes32.random()
        let (surb, secrets) = try builder.makeSURB(route: net.route(Array((6 - hops)..<6)), mailbox: mailbox)
        // The SURB travels to the other party as bytes.
        let received = try #require(SURB(serialized: surb.serialized, geometry: net.geometry))
        let text = Array("reply through a SURB".utf8)
        let reply = try received.reply(text)
        let trace = net.run(reply, from: try #require(net.index(of: received.firstHop)))
        #expect(trace.error == nil)
        #expect(trace.command == .deliverReply(address: mailbox, surbID: secrets.id))
        let payload = Array(trace.final[net.geometry.headerBytes...])
        let opened = try secrets.open(payload: payload)
        #expect(Array(opened[0..<text.count]) == text)
    }

    @Test func surbReplyTamperingIsDetectedByItsCreator() throws {
        let builder = PacketBuilder(geometry: net.geometry)
        let (surb, secrets) = try builder.makeSURB(route: net.route([0, 1, 2]), mailbox: .random())
        var reply = try surb.reply([9, 9, 9])
        reply[net.geometry.headerBytes + 100] ^= 0x20
        let trace = net.run(reply, from: 0)
        let payload = Array(trace.final[net.geometry.headerBytes...])
        #expect(throws: PacketError.taggedPayload) { try secrets.open(payload: payload) }
    }

    @Test func senderErrors() {
        let builder = PacketBuilder(geometry: net.geometry)
        #expect(throws: PacketError.badRoute) { try builder.build(route: [], to: .mailbox(.zero), message: []) }
        #expect(throws: PacketError.badRoute) { try builder.build(route: net.route([0, 1, 2, 3, 4, 5]), to: .mailbox(.zero), message: []) }
        #expect(throws: PacketError.messageTooLong) {
            try builder.build(route: net.route([0]), to: .mailbox(.zero), message: message(net.geometry.messageBytes + 1))
        }
    }

    @Test func smallerGeometryWorks() throws {
        let small = TestNetwork(nodes: 3, geometry: Geometry(maxHops: 3, payloadBytes: 64))
        let builder = PacketBuilder(geometry: small.geometry)
        let packet = try builder.build(route: small.route([0, 1, 2]), to: .mailbox(.zero), message: Array(repeating: 7, count: 48))
        let trace = small.run(packet, from: 0)
        #expect(trace.error == nil && trace.command == .deliver(address: .zero))
    }
}
