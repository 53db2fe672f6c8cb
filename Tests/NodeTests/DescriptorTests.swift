import Foundation
import PosternCrypto
import PosternNetwork
import PosternNode
import PosternPacket
import PosternSystem
import Testing

/// A node identity and the descriptors it signs, for tests.
struct TestNode {
    let seed = Random.bytes(32)
    let link = Bytes32.random()
    var identity: Bytes32 { Bytes32(Ed25519.KeyPair(seed: seed).publicKey)! }
    var id: Bytes32 { NodeDescriptor.id(identity: identity) }

    func descriptor(_ network: NetworkParameters, roles: NodeDescriptor.Roles = .mix, published: Int64 = 1_000_000,
                    validUntil: Int64? = nil, epochs: [UInt32] = [5, 6, 7], address: String = "127.0.0.2:7000",
                    certificate: MembershipCertificate? = nil) -> NodeDescriptor {
        NodeDescriptor(identityKey: Ed25519.KeyPair(seed: seed), network: network, linkKey: link, roles: roles, published: published,
                       validUntil: validUntil ?? published + 3600, address: address,
                       clientAddress: roles.isGateway ? "127.0.0.2:7100" : nil,
                       packetKeys: epochs.map { ($0, Bytes32.random()) }, software: "postern test", certificate: certificate)
    }
}

@Suite struct DescriptorTests {
    let network = NetworkParameters(epochSeconds: 10, layers: 3)
    let now: Int64 = 1_000_100

    @Test func roundTripsAndVerifies() throws {
        let node = TestNode()
        let d = node.descriptor(network, roles: .gateway)
        #expect(d.bytes.count < 400)
        let parsed = try NodeDescriptor.accept(d.bytes, network: network, now: now)
        #expect(parsed == d && parsed.id == node.id && parsed.identity == node.identity)
        #expect(parsed.address == "127.0.0.2:7000" && parsed.clientAddress == "127.0.0.2:7100")
        #expect(parsed.packetKeys.map(\.epoch) == [5, 6, 7] && parsed.packetKey(for: 6) == d.packetKey(for: 6))
        #expect(parsed.roles.isGateway && !parsed.roles.isMix && parsed.software == "postern test")
    }

    /// Any flipped byte is refused: the signature covers everything, and the signature itself.
    @Test func everyTamperedByteIsRefused() {
        let d = TestNode().descriptor(network)
        for i in 0..<d.bytes.count {
            var b = d.bytes
            b[i] ^= 0x01
            #expect(throws: DescriptorRefusal.self, "byte \(i)") { try NodeDescriptor.accept(b, network: network, now: now) }
        }
    }

    /// Every truncation is refused as malformed, never read past its end.
    @Test func everyTruncationIsMalformed() {
        let d = TestNode().descriptor(network)
        for n in 0..<d.bytes.count {
            #expect(throws: DescriptorRefusal.malformed, "\(n) bytes") { try NodeDescriptor(bytes: Array(d.bytes.prefix(n))) }
        }
        #expect(throws: DescriptorRefusal.malformed) { try NodeDescriptor(bytes: d.bytes + [0]) }
        #expect(throws: DescriptorRefusal.oversize) { try NodeDescriptor(bytes: [UInt8](repeating: 0, count: 1025)) }
    }

    @Test func clockAndNetworkRefusals() {
        let node = TestNode()
        func refusal(_ d: NodeDescriptor, _ net: NetworkParameters? = nil) -> DescriptorRefusal? {
            do { _ = try NodeDescriptor.accept(d.bytes, network: net ?? network, now: now); return nil } catch { return error }
        }
        #expect(refusal(node.descriptor(network, published: now - 7200, validUntil: now - 1)) == .expired)
        #expect(refusal(node.descriptor(network, published: now + 301)) == .publishedInTheFuture)
        #expect(refusal(node.descriptor(network, published: now + 299)) == nil)
        #expect(refusal(node.descriptor(network, published: now, validUntil: now + 8 * 86_400)) == .tooLongLived)
        // Found by fuzzing (cross/fuzz descriptor): a signed descriptor published at -2^63 made
        // validUntil - published overflow, and every node that verified it trapped.
        #expect(refusal(node.descriptor(network, published: .min, validUntil: now + 60)) == .tooLongLived)
        #expect(refusal(node.descriptor(network, published: now, validUntil: .max)) == .tooLongLived)
        #expect(refusal(node.descriptor(network), NetworkParameters(epochSeconds: 11, layers: 3)) == .wrongNetwork)
        #expect(refusal(node.descriptor(network), NetworkParameters(epochSeconds: 10, layers: 2)) == .wrongNetwork)
    }

    @Test func certifiedNetworksAdmitOnlyCertifiedIdentities() {
        let networkKey = Ed25519.KeyPair(seed: Random.bytes(32)), other = Ed25519.KeyPair(seed: Random.bytes(32))
        let certified = NetworkParameters(epochSeconds: 10, layers: 3, admission: .certified(networkKey: Bytes32(networkKey.publicKey)!))
        let node = TestNode(), stranger = TestNode()
        func refusal(_ d: NodeDescriptor) -> DescriptorRefusal? {
            do { _ = try NodeDescriptor.accept(d.bytes, network: certified, now: now); return nil } catch { return error }
        }
        let good = MembershipCertificate(identity: node.identity, validUntil: now + 86_400, networkKey: networkKey)
        #expect(refusal(node.descriptor(certified, certificate: good)) == nil)
        #expect(refusal(node.descriptor(certified)) == .uncertified)
        // Someone else's certificate, one by another key, an expired one.
        #expect(refusal(stranger.descriptor(certified, certificate: good)) == .badCertificate)
        let forged = MembershipCertificate(identity: node.identity, validUntil: now + 86_400, networkKey: other)
        #expect(refusal(node.descriptor(certified, certificate: forged)) == .badCertificate)
        let expired = MembershipCertificate(identity: node.identity, validUntil: now - 1, networkKey: networkKey)
        #expect(refusal(node.descriptor(certified, certificate: expired)) == .badCertificate)
        #expect(MembershipCertificate(bytes: good.encoded) == good && good.encoded.count == MembershipCertificate.bytes)
    }

    @Test func refusalsDescribeThemselves() {
        for r in DescriptorRefusal.all { #expect(!r.description.isEmpty && !r.label.contains(" ") && !r.description.contains("\n")) }
        #expect(Set(DescriptorRefusal.all.map(\.label)).count == DescriptorRefusal.all.count)
    }
}

@Suite struct NetworkViewTests {
    let network = NetworkParameters(epochSeconds: 10, layers: 3)
    let now: Int64 = 1_000_100

    @Test func newestDescriptorOfANodeWins() {
        var view = NetworkView(parameters: network)
        let node = TestNode()
        let old = node.descriptor(network, published: 1_000_000), new = node.descriptor(network, published: 1_000_050)
        let tookNew = view.insert(new), tookOld = view.insert(old)
        #expect(tookNew && !tookOld)
        #expect(view.descriptors[node.id] == new && view.count == 1)
        let newer = view.offer(node.descriptor(network, published: 1_000_060).bytes, now: now)
        let junk = view.offer([1, 2, 3], now: now)
        #expect(newer.taken && junk.refusal == .malformed)
    }

    /// Layers: deterministic for everyone with the same descriptors, sizes differ by at most one, no layer
    /// empty while mixes ≥ layers, reshuffled per epoch; gateways listed apart; only nodes with a key
    /// for the epoch.
    @Test func layerAssignmentNeedsNoCoordinator() {
        var a = NetworkView(parameters: network), b = NetworkView(parameters: network)
        let mixes = (0..<10).map { _ in TestNode() }, gateways = (0..<2).map { _ in TestNode() }
        var ds = mixes.map { $0.descriptor(network) } + gateways.map { $0.descriptor(network, roles: .gateway) }
        let late = TestNode()
        ds.append(late.descriptor(network, epochs: [7, 8]))
        for d in ds { a.insert(d) }
        for d in ds.reversed() { b.insert(d) }
        let mapA = a.topology(epoch: 6, now: now), mapB = b.topology(epoch: 6, now: now)
        #expect(mapA == mapB)
        #expect(mapA.nodes.count == 12 && mapA.gateways.count == 2 && !mapA.nodes.contains { $0.id == late.id })
        let sizes = (1...3).map { mapA.mixes(layer: $0).count }
        #expect(sizes.max()! - sizes.min()! <= 1 && sizes.reduce(0, +) == 10)
        #expect(mapA.isRoutable(layers: 3))
        #expect(mapA.nodes.first { $0.id == mixes[0].id }?.packetKey == ds[0].packetKey(for: 6))
        // Another epoch deals the layers anew (10 mixes in the same layers twice in a row: 3⁻¹⁰-ish).
        let next = a.topology(epoch: 7, now: now)
        #expect(mixes.contains { m in mapA.nodes.first { $0.id == m.id }?.role != next.nodes.first { $0.id == m.id }?.role })
        #expect(next.nodes.contains { $0.id == late.id })
        // Fewer mixes than layers: not routable.
        var small = NetworkView(parameters: network)
        for d in [mixes[0].descriptor(network), mixes[1].descriptor(network), gateways[0].descriptor(network, roles: .gateway)] { small.insert(d) }
        #expect(!small.topology(epoch: 6, now: now).isRoutable(layers: 3))
    }

    /// Layer rule 2 (PROTOCOL.md §5.5): a mix's layer follows from its own identity, so a view holding a
    /// few descriptors gives them the layers a full view gives; known answers computed with Python's
    /// hashlib (BLAKE2b-256 of "postern/layer/v2" ‖ epoch BE ‖ identity, first 8 bytes BE mod 3, + 1).
    @Test func layerRuleTwoNeedsOnlyTheMixItself() {
        let expected = [[3, 2], [2, 1], [1, 2], [3, 3], [2, 2], [3, 2]]   // identities 01…01 … 06…06, epochs 100, 101
        for (i, row) in expected.enumerated() {
            let identity = Bytes32([UInt8](repeating: UInt8(i + 1), count: 32))!
            #expect([100, 101].map { NetworkView.layer(of: identity, epoch: $0, layers: 3) } == row, "identity \(i + 1)")
        }
        let hashed = NetworkParameters(epochSeconds: 10, layers: 3, layerRule: .hashed)
        let mixes = (0..<90).map { _ in TestNode() }
        var full = NetworkView(parameters: hashed), few = NetworkView(parameters: hashed)
        for m in mixes { full.insert(m.descriptor(hashed)) }
        for m in mixes.prefix(6) { few.insert(m.descriptor(hashed)) }
        let map = full.topology(epoch: 6, now: now), small = few.topology(epoch: 6, now: now)
        func layer(_ t: Topology, _ m: TestNode) -> NodeRole? { t.nodes.first { $0.id == m.id }?.role }
        for m in mixes { #expect(layer(map, m) == .mix(layer: NetworkView.layer(of: m.identity, epoch: 6, layers: 3))) }
        for m in mixes.prefix(6) { #expect(layer(small, m) == layer(map, m)) }
        // Sizes differ by chance (about 30 ± 4.5 each here), never by design; all mixes are placed.
        let sizes = (1...3).map { map.mixes(layer: $0).count }
        #expect(sizes.reduce(0, +) == 90 && sizes.allSatisfy { $0 >= 10 && $0 <= 50 }, "\(sizes)")
        // The rule is part of the network: its id differs, and rule 1 keeps the id it always had.
        let deal = NetworkParameters(epochSeconds: 10, layers: 3)
        #expect(hashed.id != deal.id)
        #expect(Array(deal.encoded.prefix(17)) == Array("postern-network 1".utf8) && deal.encoded.count == 17 + 4 + 1 + 1 + 4 + 1)
        #expect(hashed.encoded == Array("postern-network 2".utf8) + [0, 0, 0, 10, 3, 5, 0, 0, 8, 0, 2, 0])
    }

    @Test func expiredDescriptorsArePruned() {
        var view = NetworkView(parameters: network)
        let gone = TestNode(), kept = TestNode()
        view.insert(gone.descriptor(network, published: now - 100, validUntil: now + 5))
        view.insert(kept.descriptor(network))
        let pruned = view.prune(now: now + 10)
        #expect(pruned == 1 && view.count == 1)
        #expect(!view.names(linkKey: gone.link) && view.names(linkKey: kept.link))
    }

    /// The link key index (which link may send packets) follows the newest descriptor of each node.
    @Test func theLinkKeysNamedAreTheNewestDescriptors() {
        var view = NetworkView(parameters: network)
        let node = TestNode()
        view.insert(node.descriptor(network, published: 1_000_000))
        #expect(view.names(linkKey: node.link) && !view.names(linkKey: .random()))
        // The same identity republished with another link key: only the new one is named.
        let moved = Bytes32.random()
        let newer = NodeDescriptor(identityKey: Ed25519.KeyPair(seed: node.seed), network: network, linkKey: moved, roles: .mix,
                                   published: 1_000_050, validUntil: 1_003_600, address: "127.0.0.3:7000", clientAddress: nil,
                                   packetKeys: [(6, .random())], software: "postern test", certificate: nil)
        let taken = view.insert(newer)
        #expect(taken && view.names(linkKey: moved) && !view.names(linkKey: node.link))
        // Two identities naming one link key (only one of them can hold it): named until both are gone.
        let twin = NodeDescriptor(identityKey: Ed25519.KeyPair(seed: Random.bytes(32)), network: network, linkKey: moved, roles: .mix,
                                  published: 1_000_000, validUntil: 1_000_200, address: "127.0.0.4:7000", clientAddress: nil,
                                  packetKeys: [(6, .random())], software: "postern test", certificate: nil)
        view.insert(twin)
        view.prune(now: 1_000_300)
        #expect(view.names(linkKey: moved))
        view.prune(now: 1_004_000)
        #expect(!view.names(linkKey: moved) && view.count == 0)
    }
}

@Suite struct GossipTests {
    let network = NetworkParameters(epochSeconds: 10, layers: 3)

    /// Partial views' frames (PROTOCOL.md §5.6): the layout byte for byte, a pull answer split into frames
    /// that fit a link with only the last flagged, and malformed frames refused.
    @Test func partialViewFramesHaveTheSpecsLayout() throws {
        #expect(GossipFrame.push([0xaa, 0xbb], work: nil).encoded == [3, 0, 2, 0xaa, 0xbb])
        #expect(GossipFrame.pull(wanted: []).encoded == [4])
        let wanted = Bytes32([UInt8](repeating: 7, count: 32))!
        #expect(GossipFrame.pull(wanted: [wanted]).encoded == [4, 1] + wanted.bytes)
        #expect(GossipFrame([4, 1] + wanted.bytes) == .pull(wanted: [wanted]))
        #expect(GossipFrame.describe.encoded == [6])
        #expect(GossipFrame([6]) == .describe)
        #expect(GossipFrame.pulled(last: true, [[0xcc], []]).encoded == [5, 1, 2, 0, 1, 0xcc, 0, 0])
        let descriptors = (0..<20).map { _ in TestNode().descriptor(network).bytes }
        let limit = Geometry.standard.packetBytes - 1
        let frames = GossipFrame.pulledFrames(descriptors, limit: limit)
        #expect(frames.count > 1 && frames.allSatisfy { $0.count <= limit })
        var got: [[UInt8]] = []
        for (i, f) in frames.enumerated() {
            guard case .pulled(let last, let list)? = GossipFrame(f) else { Issue.record("frame \(i)"); return }
            #expect(last == (i == frames.count - 1))
            got += list
        }
        #expect(got == descriptors)
        #expect(GossipFrame.pulledFrames([], limit: limit) == [[5, 1, 0]])   // an empty answer still ends
        for bad: [UInt8] in [[4, 0], [3, 0, 3, 1, 2], [5, 2, 0], [5, 1, 1, 0, 2, 7], [6, 0], [7], [4, 0], [4, 1, 7], [4, 9] + [UInt8](repeating: 0, count: 288)] { #expect(GossipFrame(bad) == nil, "\(bad)") }
    }

    @Test func framesRoundTripInChunksThatFitALink() throws {
        let entries = (0..<200).map { i in GossipFrame.DigestEntry(id: .random(), published: Int64(i)) }
        let limit = Geometry.standard.packetBytes - 1
        let frames = GossipFrame.digestFrames(entries, senderTime: 77, answer: true, limit: limit)
        #expect(frames.count == 4 && frames.allSatisfy { $0.count <= limit })
        var back: [GossipFrame.DigestEntry] = []
        for (i, f) in frames.enumerated() {
            guard case .digest(let time, let last, let answer, let chunk)? = GossipFrame(f) else { Issue.record("frame \(i)"); return }
            #expect(time == 77 && answer && last == (i == frames.count - 1))
            back += chunk
        }
        #expect(back == entries)
        let descriptors = (0..<20).map { _ in TestNode().descriptor(network).bytes }
        let dframes = GossipFrame.descriptorFrames(descriptors, limit: limit)
        #expect(dframes.allSatisfy { $0.count <= limit } && dframes.count > 1)
        var got: [[UInt8]] = []
        for f in dframes { if case .descriptors(let l)? = GossipFrame(f) { got += l } }
        #expect(got == descriptors)
        // An empty digest still says "last".
        #expect(GossipFrame.digestFrames([], senderTime: 1, answer: false, limit: limit).count == 1)
    }

    @Test func malformedFramesAreRefused() {
        let good = GossipFrame.digest(senderTime: 1, last: true, answer: false, entries: [.init(id: .random(), published: 2)]).encoded
        for n in 0..<good.count { #expect(GossipFrame(Array(good.prefix(n))) == nil, "\(n) bytes") }
        #expect(GossipFrame(good + [0]) == nil)
        #expect(GossipFrame([9, 1, 2]) == nil)
        var badFlags = good
        badFlags[9] = 4
        #expect(GossipFrame(badFlags) == nil)
    }

    /// A push-pull round leaves both sides with the newer descriptor of every node either held.
    @Test func pushPullConverges() {
        var a = NetworkView(parameters: network), b = NetworkView(parameters: network)
        let shared = TestNode(), onlyA = TestNode(), onlyB = TestNode()
        a.insert(shared.descriptor(network, published: 1_000_000))
        b.insert(shared.descriptor(network, published: 1_000_010))
        a.insert(onlyA.descriptor(network))
        b.insert(onlyB.descriptor(network))
        // a → b: digest; b pushes what a lacks or holds older; b → a: digest; a pushes.
        for d in b.newer(than: a.digest) { _ = a.offer(d, now: 1_000_100) }
        for d in a.newer(than: b.digest) { _ = b.offer(d, now: 1_000_100) }
        #expect(a.count == 3 && b.count == 3 && a.digest == b.digest)
        #expect(a.descriptors[shared.id]?.published == 1_000_010)
        #expect(a.newer(than: b.digest).isEmpty)
    }
}
