import PosternCrypto
import PosternPacket
import Testing

/// The delivery format (length ‖ data ‖ optional acknowledgement SURB) and SURB secrets kept across restarts.
@Suite struct DeliveryTests {
    let net = TestNetwork(nodes: 6)

    func parsed(_ message: [UInt8]) -> (data: [UInt8], ack: [UInt8]?)? {
        var area = message + [UInt8](repeating: 0, count: net.geometry.messageBytes - message.count)
        let geometry = net.geometry
        return area.withUnsafeMutableBytes { p in
            guard let (data, ack) = Delivery.parse(p.baseAddress!, geometry: geometry) else { return nil }
            return (Array(data), ack.map { Array(UnsafeRawBufferPointer(start: $0, count: SURB.serializedBytes(geometry))) })
        }
    }

    @Test func withoutAck() throws {
        let data = Random.bytes(300)
        let got = try #require(parsed(try Delivery.encode(data, ack: nil, geometry: net.geometry)))
        #expect(got.data == data && got.ack == nil)
    }

    @Test func ackSURBTravelsAndAnswersInPlace() throws {
        let builder = PacketBuilder(geometry: net.geometry)
        let ackAddress = Bytes32.random()
        let (surb, secrets) = try builder.makeSURB(route: net.route([3, 4, 5]), mailbox: ackAddress)
        let data = Random.bytes(Delivery.capacity(net.geometry, ack: true))
        let got = try #require(parsed(try Delivery.encode(data, ack: surb, geometry: net.geometry)))
        #expect(got.data == data)
        let serialized = try #require(got.ack)
        #expect(serialized == surb.serialized)
        // The gateway's allocation-free path gives the same packet layout as `SURB.reply`.
        var packet = [UInt8](repeating: 0xee, count: net.geometry.packetBytes)
        let geometry = net.geometry
        packet.withUnsafeMutableBytes { p in
            serialized.withUnsafeBytes { s in
                [Delivery.Ack.stored.code].withUnsafeBytes { m in SURB.writeReply(serialized: s.baseAddress!, geometry: geometry, message: m, into: p.baseAddress!) }
            }
        }
        #expect(SURB.firstHop(serialized: serialized.withUnsafeBytes { $0.baseAddress! }) == NextHop(linkKey: net.nodes[3].id))
        let trace = net.run(packet, from: 3)
        #expect(trace.command == .deliverReply(address: ackAddress, surbID: secrets.id))
        // The creator, after a restart, opens it with the stored secrets.
        let restored = try #require(SURBSecrets(serialized: secrets.serialized, geometry: net.geometry))
        let opened = try restored.open(payload: Array(trace.final[net.geometry.headerBytes...]))
        #expect(Delivery.Ack(code: opened[0]) == .stored)
    }

    @Test func refusesWhatDoesNotFit() throws {
        let (surb, _) = try PacketBuilder(geometry: net.geometry).makeSURB(route: net.route([0, 1]), mailbox: .random())
        #expect(throws: PacketError.messageTooLong) {
            try Delivery.encode(Random.bytes(Delivery.capacity(net.geometry, ack: true) + 1), ack: surb, geometry: net.geometry)
        }
        // A length field beyond the area (random bytes in a forged payload) is refused, not read past.
        #expect(parsed([0x7f, 0xff]) == nil)
        #expect(parsed([0xff, 0xff]) == nil)
        #expect(SURBSecrets(serialized: [1, 2, 3], geometry: net.geometry) == nil)
    }
}
