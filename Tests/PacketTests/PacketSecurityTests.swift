import PosternCrypto
import PosternPacket
import Testing

@Suite struct PacketSecurityTests {
    let net = TestNetwork(nodes: 5)

    func fresh(_ route: [Int] = [0, 1, 2]) throws -> [UInt8] {
        try PacketBuilder(geometry: net.geometry).build(route: net.route(route), to: .mailbox(.random()), message: Random.bytes(100))
    }

    /// Every bit of the header, flipped before the first hop, is refused at the first hop.
    @Test func everyHeaderBitFlipIsRefusedAtThatHop() throws {
        let packet = try fresh()
        for bit in 0..<(net.geometry.headerBytes * 8) {
            var flipped = packet
            flipped[bit / 8] ^= UInt8(1 << (bit % 8))
            let trace = net.run(flipped, from: 0)
            #expect(trace.failedAt == 0, "header bit \(bit)")
            #expect([.badMAC, .unknownEpoch, .weakKey].contains(trace.error), "header bit \(bit): \(String(describing: trace.error))")
        }
    }

    /// A header bit flipped between hop k and hop k+1 is refused at hop k+1.
    @Test(arguments: [1, 2])
    func headerFlipInTransitIsRefusedAtTheNextHop(afterHop: Int) throws {
        for bit in stride(from: 0, to: net.geometry.headerBytes * 8, by: 37) {
            let partial = net.run(try fresh([0, 1, 2]), from: 0, limit: afterHop)
            var flipped = partial.final
            flipped[bit / 8] ^= UInt8(1 << (bit % 8))
            let trace = net.run(flipped, from: try #require(partial.next))
            #expect(trace.failedAt == 0 && trace.hops.first == afterHop, "bit \(bit) after hop \(afterHop)")
        }
    }

    /// A payload bit flipped anywhere on the way passes the mixes (they cannot tell) and is caught at the
    /// final hop by the zero prefix.
    @Test(arguments: [0, 1, 2])
    func payloadFlipIsDetectedAtTheFinalHop(beforeHop: Int) throws {
        let header = net.geometry.headerBytes
        let bits = [0, 1, 7, 127, 128, 255, 256, 1000, 8000, net.geometry.payloadBytes * 8 - 1]
        for bit in bits {
            // A fresh packet each time (one already seen would rightly be dropped as a replay), taken
            // through the hops before `beforeHop`, then modified in transit.
            let partial = net.run(try fresh([0, 1, 2]), from: 0, limit: beforeHop)
            var flipped = partial.final
            flipped[header + bit / 8] ^= UInt8(1 << (bit % 8))
            let trace = net.run(flipped, from: try #require(partial.next))
            #expect(trace.error == .taggedPayload, "payload bit \(bit) before hop \(beforeHop)")
            #expect(trace.hops.last == 2)
        }
    }

    @Test func replaysAreDropped() throws {
        let packet = try fresh()
        let first = net.run(packet, from: 0)
        #expect(first.error == nil)
        let again = net.run(packet, from: 0)
        #expect(again.error == .replayed && again.failedAt == 0)
        // The same packet replayed into the second hop is caught there.
        let second = net.run(first.inputs[1], from: 1)
        #expect(second.error == .replayed)
        #expect(net.nodes[0].processor.stats.replayed == 1)
    }

    @Test func epochs() throws {
        // Keys for epochs 100 and 101 exist; a route may mix them.
        let builder = PacketBuilder(geometry: net.geometry)
        var route = net.route([0, 1])
        route[1] = net.route([1], epoch: 101)[0]
        var trace = net.run(try builder.build(route: route, to: .mailbox(.zero), message: []), from: 0)
        #expect(trace.error == nil)

        // A packet naming an epoch the node has no key for is refused before any cryptography.
        var packet = try builder.build(route: net.route([2]), to: .mailbox(.zero), message: [])
        packet.withUnsafeMutableBytes { $0.storeBytes(of: UInt32(999).littleEndian, as: UInt32.self) }
        trace = net.run(packet, from: 2)
        #expect(trace.error == .unknownEpoch)

        // Rotation drops the old epoch: its packets become unknown, along with its replay cache.
        let old = try builder.build(route: net.route([3]), to: .mailbox(.zero), message: [])
        net.nodes[3].keyring.rotate(current: 102, ahead: 1, grace: 0)
        trace = net.run(old, from: 3)
        #expect(trace.error == .unknownEpoch)
        #expect(net.nodes[3].keyring.key(for: 100) == nil && net.nodes[3].keyring.key(for: 103) != nil)
    }

    /// Bitwise unlinkability: a forwarded packet shares no 8-byte substring with what the hop received.
    @Test func inputAndOutputShareNoEightByteSubstring() throws {
        for _ in 0..<10 {
            let trace = net.run(try fresh([0, 1, 2, 3, 4]), from: 0)
            #expect(trace.error == nil)
            for hop in 0..<(trace.inputs.count - 1) {
                let windows = Set((0...(trace.inputs[hop].count - 8)).map { Array(trace.inputs[hop][$0..<($0 + 8)]) })
                let output = trace.inputs[hop + 1]
                let shared = (0...(output.count - 8)).first { windows.contains(Array(output[$0..<($0 + 8)])) }
                #expect(shared == nil, "hop \(hop): output offset \(shared ?? -1) repeats input bytes")
            }
        }
    }

    @Test func wrongSizesAndGarbageAreRefusedAndCounted() throws {
        let node = net.nodes[4]
        let packet = try fresh([4])
        for length in [0, 1, packet.count - 1, packet.count + 1, 2 * packet.count] {
            var buffer = Array(packet.prefix(length)) + [UInt8](repeating: 0, count: max(0, length - packet.count))
            #expect(throws: PacketError.wrongSize) { try buffer.withUnsafeMutableBytes { (p) throws(PacketError) in try node.processor.unwrap(p) } }
        }
        for _ in 0..<20 {
            var garbage = Random.bytes(packet.count)
            garbage.withUnsafeMutableBytes { $0.storeBytes(of: UInt32(100).littleEndian, as: UInt32.self) }  // a valid epoch
            #expect(throws: PacketError.badMAC) { try garbage.withUnsafeMutableBytes { (p) throws(PacketError) in try node.processor.unwrap(p) } }
        }
        #expect(node.processor.stats.wrongSize == 5)
        #expect(node.processor.stats.badMAC == 20)
        #expect(node.processor.stats.processed == 0)
    }

    @Test func replayCacheRefusesWhenFull() throws {
        let cache = ReplayCache(capacity: 16)
        var outcomes: [ReplayCache.Outcome] = []
        for i in 0..<13 { outcomes.append(cache.insert((UInt64(i) &* 0x9e37_79b9_7f4a_7c15, 1))) }
        #expect(outcomes.prefix(12).allSatisfy { $0 == .inserted })
        #expect(outcomes[12] == .full)
        #expect(cache.insert((0, 1)) == .seen)  // tag (0,1) was inserted first (i = 0)
        #expect(cache.contains((0x9e37_79b9_7f4a_7c15, 1)))
    }
}
