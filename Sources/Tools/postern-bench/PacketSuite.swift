import PosternCrypto
import PosternPacket

/// Suite `packet`: what a relay pays per packet. `unwrap` is held to `x25519` (goal ≤ 1.12 on the host,
/// ≤ 1.08 by executed instructions on aarch64): the one public-key operation per hop should dominate.
func packetSuite() -> Suite {
    Suite(name: "packet") {
        let geometry = Geometry.standard
        let nodes = (0..<5).map { _ in (id: Bytes32.random(), ring: Keyring(replayCapacity: 128)) }
        for node in nodes { node.ring.rotate(current: 1) }
        let route = nodes.map { RouteHop(node: $0.id, link: NextHop(linkKey: $0.id), packetKey: $0.ring.key(for: 1)!.publicKey, epoch: 1, delayMicros: 1000) }
        let builder = PacketBuilder(geometry: geometry)
        let processor = PacketProcessor(geometry: geometry, keyring: nodes[0].ring)
        let message = UnsafeRawBufferPointer(start: bufferOf(256, fill: 3), count: 256)
        let packet = UnsafeMutableRawBufferPointer(start: bufferOf(geometry.packetBytes), count: geometry.packetBytes)

        // Unwrap needs packets it has not seen (replays are refused early), so it cycles through a pool of
        // 64 built once, copying each into the work buffer (as a relay copies from its socket buffer) and
        // clearing the replay cache after each pass. Pool building is setup: it cancels out when counting
        // instructions at N and 2N iterations.
        let poolSize = 64
        let pool = bufferOf(poolSize * geometry.packetBytes)
        for i in 0..<poolSize {
            try! builder.build(route: route, to: .mailbox(.zero), message: message, into: pool + i * geometry.packetBytes)
        }
        let replay = nodes[0].ring.key(for: 1)!.replay

        let (surb, _) = try! builder.makeSURB(route: Array(route.prefix(3)), mailbox: .random())
        let reply = [UInt8](repeating: 1, count: 200)
        let serializedSURB = surb.serialized
        let stored = [Delivery.Ack.stored.code]
        let replyWorkspace = bufferOf(SURB.replyWorkspaceBytes)

        return [
            .timed("create-5hop") { n in
                for _ in 0..<n { try? builder.build(route: route, to: .mailbox(.zero), message: message, into: packet.baseAddress!) }
                blackHole(packet.baseAddress!)
            },
            .timed("unwrap", baseline: "x25519") { n in
                var slot = 0
                for _ in 0..<n {
                    packet.baseAddress!.copyMemory(from: pool + slot * geometry.packetBytes, byteCount: geometry.packetBytes)
                    _ = try? processor.unwrap(packet)
                    slot += 1
                    if slot == poolSize { slot = 0; replay.removeAll() }
                }
                replay.removeAll()
                blackHole(packet.baseAddress!)
            },
            .timed("surb-create") { n in
                for _ in 0..<n { _ = try? builder.makeSURB(route: Array(route.prefix(3)), mailbox: .zero) }
            },
            .timed("surb-reply") { n in
                for _ in 0..<n { _ = try? surb.reply(reply) }
            },
            // A gateway's delivery acknowledgement: the sender's SURB answered in place in a pool slot.
            // Held to `unwrap`, what the gateway already paid for the packet it acknowledges.
            .timed("ack-answer", baseline: "unwrap") { n in
                serializedSURB.withUnsafeBytes { s in
                    stored.withUnsafeBytes { m in
                        for _ in 0..<n {
                            SURB.writeReply(serialized: s.baseAddress!, geometry: geometry, message: m, into: packet.baseAddress!,
                                            workspace: replyWorkspace)
                        }
                    }
                }
                blackHole(packet.baseAddress!)
            },
        ]
    }
}
