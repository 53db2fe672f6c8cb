import PosternCrypto
import PosternRatchet

/// Ratchet checks: bundles through their text form, messages both ways with reordering, a DH step, and a
/// forgery refused with the state unchanged.
extension SelfTest {
    static func ratchetChecks() -> [Check] {
        [("ratchet: bundle bootstrap, reordered messages, DH steps, forgery refused", ratchetRoundTrip)]
    }

    static func ratchetRoundTrip() -> String? {
        let a = ContactSecret(gateway: .random()), b = ContactSecret(gateway: .random())
        guard let aBundle = try? ContactBundle(text: a.bundle.text), let bBundle = try? ContactBundle(text: b.bundle.text),
              let alice = try? Conversation(ours: a, theirs: bBundle), let bob = try? Conversation(ours: b, theirs: aBundle)
        else { return "bootstrap failed" }
        let first = alice.send(Array("one".utf8)), second = alice.send(Array("two".utf8))
        guard (try? bob.receive(second)) == Array("two".utf8), (try? bob.receive(first)) == Array("one".utf8) else {
            return "reordered messages did not decrypt"
        }
        for round in 0..<3 {
            guard (try? alice.receive(bob.send([UInt8(round)]))) == [UInt8(round)],
                  (try? bob.receive(alice.send([UInt8(round)]))) == [UInt8(round)] else { return "round \(round) failed" }
        }
        var forged = alice.send(Array("three".utf8))
        forged.ciphertext[forged.ciphertext.count - 1] ^= 1
        let before = bob.serialized()
        if (try? bob.receive(forged)) != nil { return "forgery accepted" }
        return bob.serialized() == before ? nil : "forgery changed the state"
    }
}
