import PosternCrypto
import PosternPacket
import PosternSystem
import Testing

/// Format 3 names the next hop by link key and address (docs/PROTOCOL.md §2.2, §2.7); a relay reads
/// those bytes as hostile input.
@Suite struct NextHopTests {
    static let key = Bytes32([UInt8](repeating: 0x5c, count: 32))!

    static func slot(_ command: RoutingCommand) -> [UInt8] {
        var slot = [UInt8](repeating: 0, count: Geometry.slotBytes)
        slot.withUnsafeMutableBytes { command.encodeSlot(into: $0) }
        return slot
    }

    static func parse(_ slot: [UInt8]) -> RoutingCommand? { slot.withUnsafeBytes { RoutingCommand(slot: $0) } }

    @Test func everyAddressTypeSurvivesTheSlot() throws {
        for hop in [NextHop(linkKey: Self.key), NextHop(linkKey: Self.key, address: IPAddress("203.0.113.9"), port: 1),
                    NextHop(linkKey: Self.key, address: IPAddress("2001:db8::42"), port: 65535)] {
            let command = RoutingCommand.forward(next: hop, delayMicros: 77)
            #expect(Self.parse(Self.slot(command)) == command)
        }
    }

    @Test func theSlotLayoutIsTheSpecs() throws {
        let slot = Self.slot(.forward(next: NextHop(linkKey: Self.key, address: IPAddress("203.0.113.9"), port: 0x1f90),
                                      delayMicros: 0x01020304))
        #expect(Array(slot[0..<8]) == [1, 4, 0x1f, 0x90, 4, 3, 2, 1])
        #expect(Array(slot[8..<40]) == Self.key.bytes)
        #expect(Array(slot[40..<56]) == [203, 0, 113, 9] + [UInt8](repeating: 0, count: 12))
    }

    @Test func malformedAddressBytesAreRefused() throws {
        let good = Self.slot(.forward(next: NextHop(linkKey: Self.key, address: IPAddress("203.0.113.9"), port: 80), delayMicros: 1))
        var badType = good; badType[1] = 5
        var ipv4Tail = good; ipv4Tail[50] = 1
        let none = Self.slot(.forward(next: NextHop(linkKey: Self.key), delayMicros: 1))
        var noneWithPort = none; noneWithPort[3] = 1
        var noneWithAddress = none; noneWithAddress[40] = 1
        var deliverWithType = Self.slot(.deliver(address: Self.key)); deliverWithType[1] = 4
        for (name, slot) in [("type 5", badType), ("IPv4 tail", ipv4Tail), ("type 0 with a port", noneWithPort),
                             ("type 0 with an address", noneWithAddress), ("deliver with an address type", deliverWithType)] {
            #expect(Self.parse(slot) == nil, "\(name) was taken")
        }
    }

    @Test func descriptorsGiveAddressesOnlyForIPLiterals() {
        #expect(NextHop(linkKey: Self.key, endpoint: "192.0.2.1:7000").endpoint == "192.0.2.1:7000")
        #expect(NextHop(linkKey: Self.key, endpoint: "[2001:db8::1]:443").endpoint == "[2001:db8::1]:443")
        // A host name is not carried: resolving it would tell the sender's resolver which mixes it uses.
        #expect(NextHop(linkKey: Self.key, endpoint: "relay.example:7000") == NextHop(linkKey: Self.key))
        #expect(NextHop(linkKey: Self.key, endpoint: "no port") == NextHop(linkKey: Self.key))
    }

    @Test func aSURBWithAMalformedFirstHopIsRefused() throws {
        let net = TestNetwork(nodes: 3)
        let (surb, _) = try PacketBuilder(geometry: net.geometry).makeSURB(route: net.route([0, 1, 2]), mailbox: .random())
        #expect(surb.serialized.count == 51 + 32 + net.geometry.headerBytes)
        #expect(SURB(serialized: surb.serialized, geometry: net.geometry) != nil)
        var bad = surb.serialized
        bad[32] = 9  // address type
        #expect(SURB(serialized: bad, geometry: net.geometry) == nil)
        #expect(SURB.firstHop(serialized: bad.withUnsafeBytes { $0.baseAddress! }) == nil)
    }
}
