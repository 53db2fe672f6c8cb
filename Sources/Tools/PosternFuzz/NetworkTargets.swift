import PosternCrypto
import PosternNetwork
import PosternPacket
import PosternSystem

/// Client requests as a gateway reads them: anyone can open a client session (Noise NK proves nothing),
/// so every byte after the handshake is a stranger's.
func clientRequestTarget() -> FuzzTarget {
    FuzzTarget(name: "client-request", summary: "ClientRequest.parse at a gateway; every request it accepts re-encodes to exactly its frame",
               seeds: {
        let a = Bytes32([UInt8](repeating: 5, count: 32))!, b = Bytes32([UInt8](repeating: 6, count: 32))!
        let packet = [UInt8](repeating: 9, count: Geometry.standard.packetBytes)
        return packet.withUnsafeBytes { p in
            [ClientRequest.submit(packet: p).encoded(id: 1), ClientRequest.fetch(addresses: [a, b]).encoded(id: 2),
             ClientRequest.delete(address: a, id: 77).encoded(id: 3), ClientRequest.view(offset: 12, wanted: [a]).encoded(id: 4),
             ClientRequest.poll(PollRequest(answer: true, holdSeconds: 60)).encoded(id: 5),
             ClientRequest.poll(PollRequest(answer: false, clear: true, add: [a], remove: [b])).encoded(id: 6)]
        }
    }, run: { input in
        input.withUnsafeBytes { frame in
            guard let (op, id, request) = ClientRequest.parse(frame, packetBytes: Geometry.standard.packetBytes) else {
                Fuzz.require(input.count < 5 || !(1...5).contains(input[0]), "a well-formed request head refused")
                return
            }
            Fuzz.require(op.code == input[0], "request op changed")
            guard let request else { return }
            Fuzz.require(request.encoded(id: id) == input, "request does not re-encode to its frame")
            if case .fetch(let addresses) = request { Fuzz.require(Set(addresses).count == addresses.count && addresses.count <= 32, "FETCH names an address twice") }
            if case .poll(let p) = request {
                Fuzz.require(Set(p.add + p.remove).count == p.add.count + p.remove.count && p.add.count + p.remove.count <= PollRequest.maxChanges,
                             "POLL names an address twice or changes too many")
                Fuzz.require(p.holdSeconds <= PollRequest.maxHoldSeconds, "POLL holds too long")
            }
        }
    })
}

/// Gateway responses as a client reads them (a gateway may be hostile: it is a stranger's box).
func gatewayResponseTarget() -> FuzzTarget {
    FuzzTarget(name: "gateway-response", summary: "ClientResponse.parse, fetched, polled and viewPage at a client; every length adds up to the body",
               seeds: {
        let blob: [UInt8] = [1, 2, 3]
        let fetch: [UInt8] = [0x82, 0, 0, 0, 2, 0] + [0, 2] + [0] + [0, 0, 0, 0, 0, 0, 0, 9] + [0, 3] + blob + [1] + [0, 0, 0, 0, 0, 0, 0, 10] + [0, 0]
        let view: [UInt8] = [0x84, 0, 0, 0, 4, 0] + [0, 0, 0, 2] + [0, 1] + [0, 3] + blob
        let poll: [UInt8] = [0x85, 0, 0, 0, 5, 0] + [0, 1, 0] + [UInt8](repeating: 7, count: 32) + [0, 0, 0, 0, 0, 0, 0, 9] + [0, 3] + blob
        return [fetch, view, poll, [0x85, 0, 0, 0, 6, 0, 0, 0, 0], [0x81, 0, 0, 0, 1, 2] + Array("replay".utf8)]
    }, run: { input in
        guard let (_, _, body) = ClientResponse.parse(input) else { return }
        if let entries = ClientResponse.fetched(body, addressCount: 32) {
            Fuzz.require(entries.allSatisfy { $0.index < 32 }, "FETCH entry names an address not asked for")
            Fuzz.require(2 + entries.reduce(0) { $0 + 11 + $1.blob.count } == body.count, "FETCH entries do not add up to the body")
        }
        if let polled = ClientResponse.polled(body) {
            Fuzz.require(3 + polled.items.reduce(0) { $0 + 42 + $1.blob.count } == body.count, "POLL entries do not add up to the body")
        }
        if let page = ClientResponse.viewPage(body) {
            Fuzz.require(6 + page.descriptors.reduce(0) { $0 + 2 + $1.count } == body.count, "VIEW entries do not add up to the body")
        }
    })
}

/// Node descriptors (gossiped by strangers, kept on disk). Mode 0: the bytes as they come. Mode 1: the
/// bytes as a descriptor body this harness signs with its own identity (put in place), so parsing and
/// `verify` get past the signature: such a descriptor is never refused for its signature.
func descriptorTarget() -> FuzzTarget {
    final class Keys {
        nonisolated(unsafe) static let shared = Keys()
        let identity = Ed25519.KeyPair(seed: [UInt8](repeating: 0x55, count: 32))
        let network = NetworkParameters()
    }
    return FuzzTarget(name: "descriptor", summary: "NodeDescriptor(bytes:) and verify (mode 1: re-signed by the harness, never refused for its signature)",
                      seeds: {
        let k = Keys.shared
        let now = Clock.wallSeconds()
        let d = NodeDescriptor(identityKey: k.identity, network: k.network, linkKey: Bytes32([UInt8](repeating: 1, count: 32))!, roles: .both,
                               published: now, validUntil: now + 3600, address: "127.0.0.2:7000", clientAddress: "127.0.0.2:7100",
                               packetKeys: [(7, Bytes32([UInt8](repeating: 2, count: 32))!)], software: "postern fuzz", certificate: nil)
        return [[0] + d.bytes, [1] + Array(d.bytes.dropLast(64))]
    }, run: { input in
        let k = Keys.shared
        var f = FuzzInput(input)
        let resign = f.byte() % 2 == 1
        var bytes = f.rest
        if resign {
            if bytes.count >= 36 { bytes.replaceSubrange(4..<36, with: k.identity.publicKey) }
            bytes += Ed25519.sign(bytes, secretKey: k.identity.secretKey)
        }
        do throws(DescriptorRefusal) {
            let d = try NodeDescriptor(bytes: bytes)
            Fuzz.require(d.bytes == bytes, "descriptor keeps other bytes than it was given")
            _ = try? d.verify(network: k.network, now: Clock.wallSeconds())
        } catch {
            Fuzz.require(!resign || bytes.count > NodeDescriptor.maxBytes || error != .badSignature, "a descriptor the harness signed refused for its signature")
        }
        _ = MembershipCertificate(bytes: f.rest)
    })
}

/// Gossip control frames between nodes, and the descriptor lists nodes and clients keep on disk.
func gossipTarget() -> FuzzTarget {
    FuzzTarget(name: "gossip", summary: "GossipFrame(bytes) (re-encodes exactly) and NodeDescriptor.decodeList (re-encodes to a prefix)",
               seeds: {
        let id = Bytes32([UInt8](repeating: 3, count: 32))!
        return [GossipFrame.digest(senderTime: 1_700_000_000, last: true, answer: false, entries: [.init(id: id, published: 5)]).encoded,
                GossipFrame.descriptors([[1, 2, 3], [4]]).encoded, NodeDescriptor.encodeList([[1, 2], [3, 4, 5]]),
                GossipFrame.push([9, 8, 7], work: nil).encoded, GossipFrame.push([9, 8, 7], work: PushWork(slot: 5, nonce: 77)).encoded, GossipFrame.pull(wanted: []).encoded, GossipFrame.pull(wanted: [id]).encoded, GossipFrame.pulled(last: true, [[1], [2, 3]]).encoded]
    }, run: { input in
        if let frame = GossipFrame(input) { Fuzz.require(frame.encoded == input, "gossip frame does not re-encode exactly") }
        let list = NodeDescriptor.decodeList(input[...])
        let again = NodeDescriptor.encodeList(list)
        Fuzz.require(Array(input.prefix(again.count)) == again, "descriptor list does not re-encode to a prefix of its record")
    })
}
