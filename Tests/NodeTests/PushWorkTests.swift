import Foundation
import PosternCrypto
@testable import PosternLink
import PosternLocalNetwork
import PosternNetwork
import PosternNode
import PosternPacket
import PosternSystem
import Testing

/// The proof of work on pushes (PROTOCOL.md §5.9, `PushWork`): its hash against Python's hashlib, the
/// frame and parameter encodings, and nodes that demand it.
@Suite(.serialized) struct PushWorkTests {
    /// The vectors come from Python's hashlib (an independent BLAKE2b), not from this code:
    ///
    ///     import hashlib
    ///     net, snd, rcv, slot = bytes(range(32)), bytes([0x11] * 32), bytes([0x22] * 32), 0x0102030405060708
    ///     def h(nonce): return hashlib.blake2b(b"postern-push 1" + net + snd + rcv + slot.to_bytes(8, "big")
    ///                                          + nonce.to_bytes(8, "big"), digest_size=32).digest()
    ///     # h(0)[:8] = fb5f2b71c4e193f2; the first nonce whose hash starts with b zero bits:
    ///     # b = 8: 259 (004859ac…), b = 12: 6439 (000523d6…), b = 16: 194513 (0000238e…)
    static let network = Bytes32(Array(0..<32))!
    static let sender = Bytes32([UInt8](repeating: 0x11, count: 32))!
    static let receiver = Bytes32([UInt8](repeating: 0x22, count: 32))!
    static let slot: UInt64 = 0x0102030405060708

    @Test func proofsAgreeWithAnIndependentBLAKE2b() {
        var input = PushWork.Input(network: Self.network, sender: Self.sender, receiver: Self.receiver, slot: Self.slot)
        #expect(input.value(nonce: 0) == 0xfb5f2b71c4e193f2)
        #expect(PushWork.search(&input, bits: 8, from: 0, tries: 100_000) == 259)
        #expect(PushWork.search(&input, bits: 12, from: 0, tries: 100_000) == 6439)
        #expect(PushWork.search(&input, bits: 12, from: 0, tries: 6439) == nil)   // exactly 6439 tries fail
        #expect(PushWork.search(&input, bits: 16, from: 190_000, tries: 10_000) == 194_513)
        #expect(input.value(nonce: 194_513) >> 48 == 0x0000)
        let proof = PushWork(slot: Self.slot, nonce: 194_513)
        #expect(proof.isValid(network: Self.network, sender: Self.sender, receiver: Self.receiver, bits: 16))
        #expect(!PushWork(slot: Self.slot, nonce: 259).isValid(network: Self.network, sender: Self.sender, receiver: Self.receiver, bits: 16))
        // 0 bits: anything goes; 64 and more: nothing does.
        #expect(PushWork.meets(.max, bits: 0) && !PushWork.meets(0, bits: 64))
    }

    @Test func aPushCarriesItsProofAfterTheDescriptor() {
        let frame = GossipFrame.push([0xaa, 0xbb], work: PushWork(slot: 0x0102030405060708, nonce: 0x1112131415161718))
        #expect(frame.encoded == [3, 0, 2, 0xaa, 0xbb, 1, 2, 3, 4, 5, 6, 7, 8, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18])
        #expect(GossipFrame(frame.encoded) == frame)
        #expect(GossipFrame([3, 0, 2, 0xaa, 0xbb]) == .push([0xaa, 0xbb], work: nil))
        for bad: [UInt8] in [[3, 0, 2, 0xaa, 0xbb, 1, 2, 3, 4, 5, 6, 7, 8], [3, 0, 2, 0xaa, 0xbb] + [UInt8](repeating: 0, count: 17)] {
            #expect(GossipFrame(bad) == nil, "\(bad.count) bytes")
        }
    }

    /// The work is part of the network's id ("postern-network 3"); networks without it keep theirs; rule 1
    /// networks (full views) cannot have it; the config key says so on its line.
    @Test func pushWorkIsANetworkParameter() throws {
        let plain = NetworkParameters(epochSeconds: 3600, layers: 3, layerRule: .hashed)
        var worked = plain
        worked.pushWorkBits = 18
        #expect(Array(plain.encoded.prefix(17)) == Array("postern-network 2".utf8))
        #expect(Array(worked.encoded.prefix(17)) == Array("postern-network 3".utf8))
        #expect(worked.encoded == Array("postern-network 3".utf8) + [0, 0, 0x0e, 0x10, 3, UInt8(Geometry.standard.maxHops)]
                + withUnsafeBytes(of: UInt32(Geometry.standard.payloadBytes).bigEndian, Array.init) + [2, 18, 0])
        #expect(worked.id != plain.id)
        #expect(worked.roundMillis == 300_000 && NetworkParameters(epochSeconds: 4).roundMillis == 500)
        #expect(worked.pushSlot(atMillis: 1_000_000_000_000) == 3_333_333)
        #expect(throws: NetworkError.self) { try NetworkParameters(layerRule: .deal, pushWorkBits: 8).check() }
        #expect(throws: NetworkError.self) { try NetworkParameters(layerRule: .hashed, pushWorkBits: 33).check() }
        let config = try ConfigFile(text: "layer_rule = 2\npush_work = 18\n")
        let parsed = try NetworkParameters(config: config, prefix: "")
        #expect(parsed == worked)
        #expect(parsed.configLines.contains("push_work = 18"))
        do {
            _ = try NetworkParameters(config: try ConfigFile(text: "epoch_seconds = 60\npush_work = 8\n"), prefix: "")
            Issue.record("push work on a rule 1 network was taken")
        } catch {
            #expect(error.line == 2 && error.message.contains("layer_rule = 2"), "\(error)")
        }
    }

    /// Five nodes whose network asks 10 bits a push form their partial views as without work: every node
    /// solves and sends its pushes, none is refused, rounds renew and views stay bounded.
    @Test func nodesSolveTheirPushesAndTakeEachOthers() throws {
        let dir = NSTemporaryDirectory() + "postern-pushwork-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let net = try LocalNetwork(layers: 3, mixes: 4, gateways: 2, dataDirectory: dir, epochSeconds: 12, layerRule: .hashed, pushWorkBits: 10) {
            $0.viewSize = 3
            $0.sampleSize = 3
        }
        try net.start()
        defer { net.stop() }
        var largestView = 0
        let done = net.run(seconds: 40) {
            for n in net.nodes { largestView = max(largestView, n.partialView?.view.count ?? .max) }
            return net.nodes.allSatisfy { $0.stats.pushesSolved >= 3 && $0.stats.samplingRounds[0] > 0 }
        }
        for n in net.nodes {
            let s = n.stats
            #expect(s.pushesRefused == [0, 0, 0], "node \(n.id.hex.prefix(8)) refused \(s.pushesRefused)")
            #expect(s.pushesSolved >= 3 && s.samplingRounds[0] > 0,
                    "node \(n.id.hex.prefix(8)): \(s.pushesSolved) pushes sent, rounds \(s.samplingRounds)")
        }
        #expect(done)
        #expect(largestView <= 3)
    }

    /// At start a node times its tries and says what the network's push work costs it a round: a warning
    /// when that is more than half a round (30 bits, rounds of a second), a plain line otherwise.
    @Test func aNodeSaysWhatItsPushWorkCostsAndWarnsWhenItCannotKeepUp() throws {
        for (bits, warned) in [(UInt8(30), true), (UInt8(6), false)] {
            let dir = NSTemporaryDirectory() + "postern-pushwork-" + UUID().uuidString
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let net = try LocalNetwork(layers: 1, mixes: 1, gateways: 1, dataDirectory: dir, epochSeconds: 12, layerRule: .hashed, pushWorkBits: bits) {
                $0.viewSize = 3
            }
            var lines: [String] = []
            net.log = { lines.append($0) }
            try net.start()
            net.stop()
            let said = lines.filter { $0.contains("push work of \(bits) bits: about") }
            #expect(said.count == 2, "\(lines)")
            #expect(said.allSatisfy { $0.contains("warning: ") == warned && $0.contains("rounds of 1.0 s") }, "\(said)")
        }
    }

    /// A push without a proof, with one for another receiver, with a slot three rounds old, or with a proof
    /// already used is refused and counted by reason; a valid one is taken (the descriptor is learnt).
    @Test func pushesWithoutValidFreshWorkAreRefusedByReason() throws {
        let dir = NSTemporaryDirectory() + "postern-pushwork-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let net = try LocalNetwork(layers: 3, gateways: 1, dataDirectory: dir, epochSeconds: 3600, layerRule: .hashed, pushWorkBits: 8) {
            $0.viewSize = 4
            $0.sampleSize = 4
        }
        try net.start()
        defer { net.stop() }
        let node = net.nodes[0], info = net.info(0)
        let (host, port) = try #require(TCP.parse(info.address))
        let secret = Random.bytes(32)
        let linkKey = try #require(Bytes32(X25519.publicKey(of: SecretKey(copying: secret))))
        let identity = Ed25519.KeyPair(seed: Random.bytes(32))
        let now = Clock.wallSeconds(), epoch = net.parameters.epoch(at: now)
        let mine = NodeDescriptor(identityKey: identity, network: net.parameters, linkKey: linkKey, roles: .mix, published: now,
                                  validUntil: now + 3600, address: "127.0.0.1:9", clientAddress: nil,
                                  packetKeys: [epoch, epoch + 1, epoch + 2].map { ($0, Bytes32.random()) }, software: "postern test",
                                  certificate: nil)
        let c = Connection(fd: try TCP.connect(host, port), loop: net.loop,
                           handshake: try NoiseHandshake(pattern: .XK, initiator: true, prologue: Array("postern/link/1".utf8),
                                                         staticKey: secret, remoteStatic: info.linkKey.bytes),
                           maxFrame: net.parameters.geometry.packetBytes + 16, connecting: true)
        var up = false
        c.onEstablished = { _ in up = true }
        c.start()
        defer { c.close("test done") }
        #expect(net.run(seconds: 5) { up })
        let slot = net.parameters.pushSlot(atMillis: Clock.wallMillis())
        func proof(receiver: Bytes32, slot: UInt64) throws -> PushWork {
            var input = PushWork.Input(network: net.parameters.id, sender: mine.id, receiver: receiver, slot: slot)
            return PushWork(slot: slot, nonce: try #require(PushWork.search(&input, bits: 8, from: 0, tries: 1 << 20)))
        }
        // A slot boundary during the test (one in 300 s) may turn a "reused" into a "slot": then any reason counts.
        func push(_ work: PushWork?, refused: Int, _ why: String) {
            let before = node.stats.pushesRefused
            c.send(GossipFrame.push(mine.bytes, work: work).encoded)
            var expected = before
            expected[refused] += 1
            let ok = net.run(seconds: 5) {
                let now = node.stats.pushesRefused
                return now == expected || (net.parameters.pushSlot(atMillis: Clock.wallMillis()) != slot && now.reduce(0, +) == before.reduce(0, +) + 1)
            }
            #expect(ok, "\(why): refused \(node.stats.pushesRefused), was \(before)")
        }
        push(nil, refused: 0, "no proof")
        push(try proof(receiver: net.nodes[1].id, slot: slot), refused: 0, "another receiver's proof")
        push(try proof(receiver: node.id, slot: slot - 3), refused: 1, "a slot three rounds old")
        let taken = node.stats.descriptorsTaken
        let good = try proof(receiver: node.id, slot: slot)
        c.send(GossipFrame.push(mine.bytes, work: good).encoded)
        #expect(net.run(seconds: 5) { node.stats.descriptorsTaken == taken + 1 }, "a valid push was not taken")
        push(good, refused: 2, "the same proof again")
        push(try proof(receiver: node.id, slot: slot - 1), refused: 2, "an earlier slot than the last taken")
        if net.parameters.pushSlot(atMillis: Clock.wallMillis()) == slot { #expect(node.stats.pushesRefused == [2, 1, 2]) }
    }
}
