import PosternCrypto
@testable import PosternRatchet
import Testing

@Suite struct BundleTests {
    @Test func textRoundTripAndChecksum() throws {
        let secret = ContactSecret(gateway: .random())
        let text = secret.bundle.text
        #expect(text.hasPrefix("postern:") && text.utf8.count == 8 + 111)
        #expect(try ContactBundle(text: "  " + text.uppercased() + "\n") == secret.bundle)
        // Any single changed character is caught.
        var chars = Array(text)
        for i in stride(from: 8, to: chars.count - 1, by: 5) {
            let original = chars[i]
            chars[i] = original == "a" ? "b" : "a"
            #expect(throws: RatchetError.self) { try ContactBundle(text: String(chars)) }
            chars[i] = original
        }
    }

    /// A bundle wrapped across lines by a mail or chat program, or pasted without its `postern:` prefix,
    /// is the same bundle (both used to be refused as malformed); a bare word is still not a bundle.
    @Test func wrappedOrPrefixlessBundlesAreAccepted() throws {
        let secret = ContactSecret(gateway: .random())
        let text = secret.bundle.text
        let chars = Array(text)
        let wrapped = stride(from: 0, to: chars.count, by: 40).map { String(chars[$0..<min($0 + 40, chars.count)]) }.joined(separator: "\r\n  ")
        #expect(try ContactBundle(text: wrapped) == secret.bundle)
        #expect(try ContactBundle(text: String(text.dropFirst(8))) == secret.bundle)
        #expect(try ContactBundle(text: "postern: " + String(text.dropFirst(8)).uppercased()) == secret.bundle)
        #expect(throws: RatchetError.malformed) { try ContactBundle(text: "hello") }
        var damaged = Array(text.dropFirst(8))
        damaged[20] = damaged[20] == "a" ? "b" : "a"
        #expect(throws: RatchetError.badChecksum) { try ContactBundle(text: String(damaged)) }
    }

    @Test func badBundles() throws {
        #expect(throws: RatchetError.malformed) { try ContactBundle(text: "hello") }
        #expect(throws: RatchetError.malformed) { try ContactBundle(text: "postern:!!") }
        // Version 2 with a valid checksum is refused as a version, not as damage.
        let body: [UInt8] = [2] + Bytes32.random().bytes + Bytes32.random().bytes
        #expect(throws: RatchetError.unsupportedVersion(2)) {
            try ContactBundle(text: "postern:" + Base32.encode(body + ContactBundle.checksum(body)))
        }
        let own = ContactSecret(gateway: .zero)
        #expect(throws: RatchetError.badBundle) { try Conversation(ours: own, theirs: own.bundle) }
    }

    @Test func base32MatchesRFC4648() {
        // RFC 4648 §10 test vectors (lower-case, unpadded).
        let cases = ["": "", "f": "my", "fo": "mzxq", "foo": "mzxw6", "foob": "mzxw6yq", "fooba": "mzxw6ytb", "foobar": "mzxw6ytboi"]
        for (plain, encoded) in cases {
            #expect(Base32.encode(Array(plain.utf8)) == encoded)
            #expect(Base32.decode(encoded) == Array(plain.utf8))
        }
    }
}

@Suite struct RatchetPropertyTests {
    /// 10 000 messages in random interleavings with loss and bounded reordering, checked against a
    /// reference model: each delivered message decrypts exactly once to what was sent to its address,
    /// nothing lost ever appears, and the conversation never wedges.
    @Test func randomInterleavingsAgainstReferenceModel() throws {
        var rng = SystemRandomNumberGenerator()
        let p = try Pair()
        struct InFlight { let to: Conversation; let message: RatchetMessage }
        var model: [Bytes32: [UInt8]] = [:]   // address → plaintext the sender put there
        var delivered = Set<Bytes32>()
        var flight: [InFlight] = []
        var sent = 0, received = 0, lost = 0
        while sent < 10_000 || !flight.isEmpty {
            let roll = Int.random(in: 0..<100, using: &rng)
            if sent < 10_000 && (roll < 45 || flight.isEmpty) && flight.count < 20 {
                let fromAlice = Bool.random(using: &rng)
                let plaintext = Array("msg \(sent)".utf8)
                let m = (fromAlice ? p.alice : p.bob).send(plaintext)
                #expect(model[m.address] == nil, "address reused")
                model[m.address] = plaintext
                flight.append(InFlight(to: fromAlice ? p.bob : p.alice, message: m))
                sent += 1
            } else {
                // Reordering: any of the oldest eight in flight may go next.
                let i = Int.random(in: 0..<min(8, flight.count), using: &rng)
                let item = flight.remove(at: i)
                if Int.random(in: 0..<100, using: &rng) < 5 { lost += 1; continue }
                let plaintext = try item.to.fetch(item.message)
                #expect(plaintext != nil, "an in-window message was not watched")
                #expect(plaintext == model[item.message.address])
                #expect(delivered.insert(item.message.address).inserted)
                received += 1
                #expect(throws: RatchetError.unknownAddress) { try item.to.receive(item.message) }
            }
        }
        #expect(received + lost == 10_000)
        #expect(received > 9_000)
        // Still talking after all that.
        #expect(try p.bob.fetch(p.alice.send(text("end"))) == text("end"))
        #expect(try p.alice.fetch(p.bob.send(text("end"))) == text("end"))
    }

    /// Post-compromise security: a snapshot of Alice's state, kept up to date by an attacker who also
    /// decrypts all of Bob's traffic, stops predicting addresses once Alice's fresh ratchet key has
    /// entered the root chain (two round trips after the leak).
    @Test func leakedStateStopsPredictingAfterDHRoundTrip() throws {
        let p = try Pair()
        for i in 0..<3 { _ = try p.bob.fetch(p.alice.send([UInt8(i)])); _ = try p.alice.fetch(p.bob.send([UInt8(i)])) }
        var leak = p.alice.serialized()
        leak.replaceSubrange(5..<9, with: [0xe8, 0x03, 0, 0])   // the attacker watches 1000 ahead, not 32
        let attacker = try Conversation(serialized: leak)
        func predicted() -> Set<Bytes32> {
            var set = Set(attacker.watchedAddresses())
            set.formUnion(RatchetState.window(from: attacker.state.sendAddress, count: 1000))
            set.formUnion(RatchetState.window(from: attacker.state.nextSendAddress, count: 1000))
            return set
        }
        var known = predicted()
        var predictedPerRound: [Int] = []
        for round in 0..<6 {
            var hits = 0
            for i in 0..<3 {
                let a = p.alice.send([UInt8(round), UInt8(i)])
                if known.contains(a.address) { hits += 1 }
                _ = try p.bob.fetch(a)
            }
            for i in 0..<3 {
                let b = p.bob.send([UInt8(round), UInt8(i)])
                if known.contains(b.address) { hits += 1 }
                _ = try? attacker.fetch(b)   // the attacker follows Bob's traffic as long as it can
                known.formUnion(predicted())
                _ = try p.alice.fetch(b)
            }
            predictedPerRound.append(hits)
        }
        #expect(predictedPerRound[0] == 6, "the leak must be real: round 1 is predictable")
        #expect(predictedPerRound[2...].allSatisfy { $0 == 0 }, "predicted per round: \(predictedPerRound)")
    }

    /// Addresses look uniform: every bit position is set in about half of 8 192 addresses (5σ band), and
    /// byte values pass a chi-square test (255 degrees of freedom; 370 ≈ the p = 10⁻⁶ critical value, so
    /// the test fails for skewed output, not by chance).
    @Test func addressesLookUniform() throws {
        let p = try Pair()
        var ones = [Int](repeating: 0, count: 256)
        var byteCounts = [Int](repeating: 0, count: 256)
        let n = 8192
        for _ in 0..<n {
            let bytes = p.alice.send([]).address.bytes
            for (i, b) in bytes.enumerated() {
                byteCounts[Int(b)] += 1
                for bit in 0..<8 where b & (1 << bit) != 0 { ones[i * 8 + bit] += 1 }
            }
        }
        #expect(ones.allSatisfy { abs(Double($0) / Double(n) - 0.5) < 0.03 })
        let expected = Double(n * 32) / 256
        let chi = byteCounts.reduce(0.0) { $0 + (Double($1) - expected) * (Double($1) - expected) / expected }
        #expect(chi < 370, "chi-square \(chi)")
    }
}
