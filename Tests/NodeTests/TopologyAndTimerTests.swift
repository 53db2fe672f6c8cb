import PosternCrypto
import PosternNetwork
import PosternNode
import PosternPacket
import PosternSystem
import Testing

@Suite struct TopologyTests {
    static func sample() -> (Topology, NodeKeys) {
        var nodes: [NodeInfo] = []
        var first: NodeKeys?
        for i in 0..<4 {
            let k = NodeKeys.generate(epoch: 9)
            if first == nil { first = k }
            nodes.append(NodeInfo(id: k.id, role: i < 3 ? .mix(layer: i + 1) : .gateway, address: "127.0.0.1:\(7000 + i)",
                                  clientAddress: i < 3 ? nil : "127.0.0.1:7100", linkKey: k.linkPublic, packetKey: k.packetPublic))
        }
        return (Topology(epoch: 9, validUntil: 2_000_000_000, geometry: .standard, nodes: nodes), first!)
    }

    @Test func signedRoundTrip() throws {
        let (t, _) = Self.sample()
        let directory = Ed25519.KeyPair(seed: Random.bytes(32))
        let text = t.signed(with: directory)
        #expect(try Topology(signedText: text, directoryKey: directory.publicKey, now: 1_000) == t)
    }

    @Test func refusals() throws {
        let (t, _) = Self.sample()
        let directory = Ed25519.KeyPair(seed: Random.bytes(32)), other = Ed25519.KeyPair(seed: Random.bytes(32))
        let text = t.signed(with: directory)
        #expect(throws: TopologyError.badSignature) { try Topology(signedText: text, directoryKey: other.publicKey, now: 0) }
        #expect(throws: TopologyError.stale(validUntil: 2_000_000_000)) {
            try Topology(signedText: text, directoryKey: directory.publicKey, now: 2_000_000_001)
        }
        let unsigned = String(text.split(separator: "\n").filter { !$0.hasPrefix("signature") }.joined(separator: "\n"))
        #expect(throws: TopologyError.unsigned) { try Topology(signedText: unsigned, directoryKey: directory.publicKey, now: 0) }
        // One changed character anywhere above the signature breaks it.
        var tampered = Array(text)
        tampered[40] = tampered[40] == "1" ? "2" : "1"
        #expect(throws: TopologyError.self) { try Topology(signedText: String(tampered), directoryKey: directory.publicKey, now: 0) }
        // A well-signed file whose node id does not match its link key is refused, naming the line.
        var bad = t
        bad.nodes[1].id = .random()
        do {
            _ = try Topology(signedText: bad.signed(with: directory), directoryKey: directory.publicKey, now: 0)
            Issue.record("accepted a mismatched id")
        } catch {
            #expect(error == .malformed(line: 6, "node id does not match its link key"))
        }
    }
}

@Suite struct TimerHeapTests {
    /// 100 000 timers in random order come out in deadline order (FIFO among equal deadlines).
    @Test func orderAtScale() {
        var heap = TimerHeap<Int>()
        var deadlines: [UInt64] = []
        for i in 0..<100_000 {
            let d = UInt64.random(in: 0..<50_000)
            deadlines.append(d)
            heap.insert(i, deadline: d)
        }
        var last: (UInt64, Int) = (0, -1)
        var popped = 0
        while let (deadline, value) = heap.popDue(now: .max) {
            #expect(deadline >= last.0)
            if deadline == last.0 { #expect(value > last.1) }
            #expect(deadlines[value] == deadline)
            last = (deadline, value)
            popped += 1
        }
        #expect(popped == 100_000 && heap.isEmpty)
    }

    @Test func onlyDueEntriesPop() {
        var heap = TimerHeap<String>()
        heap.insert("late", deadline: 100)
        heap.insert("early", deadline: 10)
        #expect(heap.popDue(now: 5) == nil)
        #expect(heap.popDue(now: 50)?.value == "early")
        #expect(heap.popDue(now: 50) == nil && heap.nextDeadline == 100)
    }
}
