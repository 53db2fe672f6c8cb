import PosternCrypto
import PosternRatchet

/// Suite `ratchet`: the per-message cost of the address ratchet and double ratchet, against `x25519`.
/// `address-next` is one symmetric address-chain step (goal ≤ 0.25 × x25519, 0 allocations).
func ratchetSuite() -> Suite {
    Suite(name: "ratchet") {
        let text = [UInt8](repeating: 7, count: 200)
        /// A fresh pair per line (a line that only sends would leave the other side far behind), with both
        /// chains established so that "without DH" really is a symmetric step.
        func pair() -> (Conversation, Conversation) {
            let a = ContactSecret(gateway: .zero), b = ContactSecret(gateway: .zero)
            let alice = try! Conversation(ours: a, theirs: b.bundle), bob = try! Conversation(ours: b, theirs: a.bundle)
            _ = try! bob.receive(alice.send(text))
            _ = try! alice.receive(bob.send(text))
            _ = try! bob.receive(alice.send(text))
            return (alice, bob)
        }
        let (sender, _) = pair(), (alice, bob) = pair(), (left, right) = pair()
        var chain = AddressChain(key: .random())
        // Caller-provided buffers: sealing and opening write into them, so a step allocates nothing.
        let sealed = UnsafeMutableRawBufferPointer(start: bufferOf(text.count + RatchetMessage.overhead),
                                                   count: text.count + RatchetMessage.overhead)
        let opened = bufferOf(text.count)
        func roundTrip(_ from: Conversation, _ to: Conversation) -> Bool {
            let address = text.withUnsafeBytes { from.send($0, into: sealed.baseAddress!) }
            return (try? to.receive(address: address, ciphertext: UnsafeRawBufferPointer(sealed), into: opened)) != nil
        }

        return [
            .timed("address-next", baseline: "x25519") { n in
                for _ in 0..<n { blackHoleValue(chain.next()) }
            },
            .timed("ratchet-send", baseline: "x25519") { n in
                text.withUnsafeBytes { t in
                    for _ in 0..<n { blackHoleValue(sender.send(t, into: sealed.baseAddress!)) }
                }
            },
            // Receives need fresh messages, so each iteration sends one (its cost is the line above).
            .timed("ratchet-send+receive", baseline: "x25519") { n in
                for _ in 0..<n { precondition(roundTrip(alice, bob), "receive failed") }
            },
            // Alternating direction: every receive performs a DH ratchet step (two X25519 + key generation).
            .timed("ratchet-send+receive-dh", baseline: "x25519") { n in
                for i in 0..<n {
                    precondition(i % 2 == 0 ? roundTrip(left, right) : roundTrip(right, left), "receive failed")
                }
            },
        ]
    }
}

@inline(never)
func blackHoleValue(_ value: Bytes32) {
    var copy = value
    withUnsafeBytes(of: &copy.words) { blackHole($0.baseAddress!) }
}
