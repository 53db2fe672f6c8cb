import PosternCrypto
@testable import PosternRatchet

/// Two parties who exchanged bundles: a conversation each.
struct Pair {
    let alice: Conversation
    let bob: Conversation

    init(config: RatchetConfig = RatchetConfig()) throws {
        let a = ContactSecret(gateway: .random()), b = ContactSecret(gateway: .random())
        // Bundles go through their text form, as they would on paper or in a QR code.
        let aliceBundle = try ContactBundle(text: a.bundle.text), bobBundle = try ContactBundle(text: b.bundle.text)
        alice = try Conversation(ours: a, theirs: bobBundle, config: config)
        bob = try Conversation(ours: b, theirs: aliceBundle, config: config)
    }
}

func text(_ s: String) -> [UInt8] { Array(s.utf8) }

extension Conversation {
    /// Receives if the message's address is watched, as a client fetching its mailboxes would.
    func fetch(_ m: RatchetMessage) throws -> [UInt8]? {
        guard watchedAddresses().contains(m.address) else { return nil }
        return try receive(m)
    }
}
