import Foundation
import PosternCrypto
import PosternPacket
import PosternSystem
import Testing

/// Fixed-seed packets checked into Golden/packets.json. They pin the wire format: any change to the
/// layout, key schedule, filler or payload cipher shows up as a byte difference here. Regenerate deliberately
/// (after a format change, with a version bump in docs/PROTOCOL.md) with POSTERN_WRITE_GOLDEN=1.
@Suite struct GoldenPacketTests {
    struct Case {
        let name: String
        let hops: Int
        let destination: Destination
        let message: [UInt8]
    }

    static let cases = [
        Case(name: "deliver-1hop", hops: 1, destination: .mailbox(Bytes32(hex: String(repeating: "a1", count: 32))!),
             message: Array("one hop".utf8)),
        Case(name: "deliver-3hop", hops: 3, destination: .mailbox(Bytes32(hex: String(repeating: "b2", count: 32))!),
             message: Array("three hops to a mailbox".utf8)),
        Case(name: "deliver-5hop", hops: 5, destination: .mailbox(Bytes32(hex: String(repeating: "c3", count: 32))!),
             message: Array(repeating: 0x5a, count: Geometry.standard.messageBytes)),
        Case(name: "reply-2hop", hops: 2,
             destination: .reply(mailbox: Bytes32(hex: String(repeating: "d4", count: 32))!, surb: SURBID(words: (7, 9))),
             message: Array("a reply".utf8)),
    ]

    /// Nodes whose ids and epoch keys come from a fixed seed.
    static func nodes() -> [(id: Bytes32, key: EpochKey)] {
        let random = SeededRandom(seed: Array(repeating: 0x11, count: 32))
        return (0..<5).map { _ in
            (Bytes32(random.bytes(32))!, EpochKey(epoch: 7, secret: SecretKey(copying: random.bytes(32)), replayCapacity: 64))
        }
    }

    /// How packets name each node (format 3): IPv4, no address, IPv4, IPv6, IPv4, so every address type
    /// is pinned.
    static func link(_ i: Int, _ nodes: [(id: Bytes32, key: EpochKey)]) -> NextHop {
        switch i {
        case 1: NextHop(linkKey: nodes[i].id)
        case 3: NextHop(linkKey: nodes[i].id, address: IPAddress("2001:db8::3"), port: 443)
        default: NextHop(linkKey: nodes[i].id, address: IPAddress("192.0.2.\(i + 1)"), port: UInt16(7000 + i))
        }
    }

    static func build(_ c: Case, nodes: [(id: Bytes32, key: EpochKey)]) throws -> [UInt8] {
        let random = SeededRandom(seed: Array(repeating: 0x22, count: 32) + [])
        let builder = PacketBuilder(geometry: .standard, random: { random.fill($0, count: $1) })
        let route = (0..<c.hops).map { RouteHop(node: nodes[$0].id, link: link($0, nodes), packetKey: nodes[$0].key.publicKey, epoch: 7,
                                                delayMicros: UInt32(500 * ($0 + 1))) }
        return try builder.build(route: route, to: c.destination, message: c.message)
    }

    static let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden/packets.json")

    @Test func goldenPacketsAreReproduced() throws {
        let nodes = Self.nodes()
        var built: [String: String] = [:]
        for c in Self.cases { built[c.name] = Hex.encode(try Self.build(c, nodes: nodes)) }
        if ProcessInfo.processInfo.environment["POSTERN_WRITE_GOLDEN"] == "1" {
            let data = try JSONSerialization.data(withJSONObject: built, options: [.prettyPrinted, .sortedKeys])
            try data.write(to: Self.file)
        }
        let url = try #require(Bundle.module.url(forResource: "packets", withExtension: "json", subdirectory: "Golden"))
        let golden = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: String])
        #expect(golden.count == Self.cases.count)
        for c in Self.cases {
            let same = built[c.name] == golden[c.name]
            #expect(same, "\(c.name) differs from the checked-in packet")
        }
    }

    /// The checked-in bytes (not just the builder's output) unwrap to the expected command and message.
    @Test func goldenPacketsUnwrap() throws {
        let url = try #require(Bundle.module.url(forResource: "packets", withExtension: "json", subdirectory: "Golden"))
        let golden = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: String])
        for c in Self.cases {
            let nodes = Self.nodes()  // fresh replay caches: every case starts with the same seeded ephemeral key
            let hex = try #require(golden[c.name])
            var packet = try #require(Hex.decode(hex))
            let processors = nodes.map { node -> PacketProcessor in
                let ring = Keyring(replayCapacity: 64)
                ring.add(node.key)
                return PacketProcessor(geometry: .standard, keyring: ring)
            }
            var command: RoutingCommand = .deliver(address: .zero)
            for hop in 0..<c.hops {
                command = try packet.withUnsafeMutableBytes { (p) throws(PacketError) in try processors[hop].unwrap(p) }
                if hop < c.hops - 1 {
                    let expected = RoutingCommand.forward(next: Self.link(hop + 1, nodes), delayMicros: UInt32(500 * (hop + 1)))
                    #expect(command == expected)
                }
            }
            #expect(command == c.destination.commandForTest)
            if case .mailbox = c.destination {
                let start = Geometry.standard.headerBytes + Geometry.zeroPrefixBytes
                #expect(Array(packet[start..<(start + c.message.count)]) == c.message)
            }
        }
    }
}

/// Golden/surb-reply.json comes from tools/vectors/surb_reply.py, an independent Python implementation of
/// the payload cipher and the SURB reply written from docs/PROTOCOL.md (its Adiantum reproduces every
/// reference vector first). Postern must answer a SURB and open the reply exactly as the spec says.
@Suite struct SURBReplyVectorTests {
    static func vector() throws -> [String: String] {
        let url = try #require(Bundle.module.url(forResource: "surb-reply", withExtension: "json", subdirectory: "Golden"))
        return try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: String])
    }

    static func hex(_ v: [String: String], _ field: String) throws -> [UInt8] {
        let text = try #require(v[field])
        return try #require(Hex.decode(text))
    }

    @Test func answeringASURBMatchesTheSpec() throws {
        let v = try Self.vector()
        let surb = try #require(SURB(serialized: try Self.hex(v, "surb"), geometry: .standard))
        #expect(try surb.reply(try Self.hex(v, "message")) == (try Self.hex(v, "reply")))
    }

    @Test func openingAReplyMatchesTheSpec() throws {
        let v = try Self.vector()
        let secrets = try #require(SURBSecrets(serialized: try Self.hex(v, "secrets"), geometry: .standard))
        let message = try Self.hex(v, "message")
        let opened = try secrets.open(payload: try Self.hex(v, "delivered"))
        #expect(Array(opened.prefix(message.count)) == message)
        #expect(opened.dropFirst(message.count).allSatisfy { $0 == 0 })
        var tampered = try Self.hex(v, "delivered")
        tampered[1500] ^= 0x80
        #expect(throws: PacketError.taggedPayload) { try secrets.open(payload: tampered) }
    }
}

extension Destination {
    var commandForTest: RoutingCommand {
        switch self {
        case .mailbox(let a): .deliver(address: a)
        case .reply(let a, let id): .deliverReply(address: a, surbID: id)
        }
    }
}

/// Golden/packet-v3.json comes from tools/vectors/packet.py, an independent Python implementation of
/// docs/PROTOCOL.md §2 (format 3: X25519, ChaCha20 and Poly1305 from `cryptography`, BLAKE2b from
/// hashlib). It records every random choice of the sender, so Postern's builder, fed the same choices,
/// must produce the same bytes, and Postern's relays must unwrap the Python packet to the commands the
/// spec says (every next-hop address type: IPv4, none, IPv6, IPv4, IPv4-mapped IPv6).
@Suite struct PacketVectorTests {
    struct Hop {
        let secret: [UInt8], ephemeral: [UInt8], link: NextHop, delay: UInt32
    }

    struct Case {
        let name: String, epoch: UInt32, hops: [Hop], padding: [UInt8], destination: Destination
        let message: [UInt8], packet: [UInt8]
    }

    static func cases() throws -> [Case] {
        let url = try #require(Bundle.module.url(forResource: "packet-v3", withExtension: "json", subdirectory: "Golden"))
        let root = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        let list = try #require(root["cases"] as? [[String: Any]])
        func hex(_ d: [String: Any], _ key: String) throws -> [UInt8] {
            let text = try #require(d[key] as? String)
            return try #require(Hex.decode(text))
        }
        return try list.map { c in
            let hopList = try #require(c["hops"] as? [[String: Any]])
            let hops = try hopList.map { h in
                let keyBytes = try hex(h, "link_key")
                let key = try #require(Bytes32(keyBytes))
                let portNumber = try #require(h["port"] as? Int)
                let port = UInt16(portNumber)
                let link = (h["ip"] as? String).map { NextHop(linkKey: key, address: IPAddress($0), port: port) } ?? NextHop(linkKey: key)
                let delay = try #require(h["delay_us"] as? Int)
                return Hop(secret: try hex(h, "node_secret"), ephemeral: try hex(h, "ephemeral_secret"), link: link,
                           delay: UInt32(delay))
            }
            let mailboxBytes = try hex(c, "mailbox")
            let mailbox = try #require(Bytes32(mailboxBytes))
            let destination: Destination
            if c["destination"] as? String == "deliver" {
                destination = .mailbox(mailbox)
            } else {
                let id = try hex(c, "surb_id")
                let words = id.withUnsafeBytes { ($0.loadUnaligned(as: UInt64.self), $0.loadUnaligned(fromByteOffset: 8, as: UInt64.self)) }
                destination = .reply(mailbox: mailbox, surb: SURBID(words: words))
            }
            let name = try #require(c["name"] as? String), epoch = try #require(c["epoch"] as? Int)
            return Case(name: name, epoch: UInt32(epoch), hops: hops,
                        padding: try hex(c, "padding"), destination: destination, message: try hex(c, "message"),
                        packet: try hex(c, "packet"))
        }
    }

    @Test func theBuilderMakesTheSpecsPacket() throws {
        for c in try Self.cases() {
            // The builder draws each hop's ephemeral secret in route order, then the last slot's padding.
            var choices = c.hops.flatMap { $0.ephemeral } + c.padding
            let builder = PacketBuilder(geometry: .standard, random: { p, n in
                precondition(n <= choices.count, "the builder drew more than the vector records")
                p.copyMemory(from: choices, byteCount: n)
                choices.removeFirst(n)
            })
            let route = c.hops.map { h in
                let key = EpochKey(epoch: c.epoch, secret: SecretKey(copying: h.secret), replayCapacity: 64)
                return RouteHop(node: h.link.linkKey, link: h.link, packetKey: key.publicKey, epoch: c.epoch, delayMicros: h.delay)
            }
            let packet = try builder.build(route: route, to: c.destination, message: c.message)
            #expect(choices.isEmpty, "\(c.name): the vector records more choices than the builder drew")
            let same = packet == c.packet
            #expect(same, "\(c.name) differs from the Python packet")
        }
    }

    @Test func relaysUnwrapTheSpecsPacket() throws {
        for c in try Self.cases() {
            var packet = c.packet
            for (i, hop) in c.hops.enumerated() {
                let ring = Keyring(replayCapacity: 64)
                ring.add(EpochKey(epoch: c.epoch, secret: SecretKey(copying: hop.secret), replayCapacity: 64))
                let processor = PacketProcessor(geometry: .standard, keyring: ring)
                let command = try packet.withUnsafeMutableBytes { (p) throws(PacketError) in try processor.unwrap(p) }
                if i < c.hops.count - 1 {
                    #expect(command == .forward(next: c.hops[i + 1].link, delayMicros: hop.delay), "\(c.name) hop \(i)")
                } else {
                    #expect(command == c.destination.commandForTest, "\(c.name) last hop")
                }
            }
            if case .mailbox = c.destination {
                let start = Geometry.standard.headerBytes + Geometry.zeroPrefixBytes
                #expect(Array(packet[start..<(start + c.message.count)]) == c.message)
            }
        }
    }
}
