import PosternCrypto
@testable import PosternRatchet
import Testing

@Suite struct ConversationTests {
    /// A stored state whose send counter is at 2³² − 1 (damaged or crafted) is refused when read: a
    /// `send` from it would overflow the counter and trap.
    @Test func stateWithCountersNearOverflowIsRefused() throws {
        let p = try Pair()
        var bytes = p.alice.serialized()
        #expect(p.alice.state.skipped.isEmpty)
        // Ns ‖ Nr ‖ PN ‖ skipped count are the last 16 bytes when nothing is skipped.
        bytes.replaceSubrange((bytes.count - 16)..<(bytes.count - 12), with: [0xff, 0xff, 0xff, 0xff])
        #expect(throws: RatchetError.malformed) { try Conversation(serialized: bytes) }
        var nr = p.alice.serialized()
        nr.replaceSubrange((nr.count - 12)..<(nr.count - 8), with: [0, 0, 0, 0x80])
        #expect(throws: RatchetError.malformed) { try Conversation(serialized: nr) }
        #expect(try Conversation(serialized: p.alice.serialized()).serialized() == p.alice.serialized())
    }

    /// A state whose send counter is at the largest a stored state may hold (2³¹ − 1) still loads after
    /// a send, and after many: the counter stops there instead of passing the limit, so a state written
    /// after a send is never refused when read back (found by cross/fuzz ratchet; a chain that long
    /// never happens, since every reply starts a new one).
    @Test func theSendCounterStopsAtWhatAStoredStateMayHold() throws {
        let p = try Pair()
        var bytes = p.alice.serialized()
        bytes.replaceSubrange((bytes.count - 16)..<(bytes.count - 12), with: [0xff, 0xff, 0xff, 0x7f])
        let c = try Conversation(serialized: bytes)
        for _ in 0..<3 {
            _ = c.send([1, 2, 3])
            let reloaded = try Conversation(serialized: c.serialized())
            #expect(reloaded.state.ns == RatchetState.maxCounter)
        }
    }

    /// A stored state without a sending chain (flags bit 0 clear: never written by this code) is refused
    /// when read; `send` from it trapped (found by cross/fuzz ratchet).
    @Test func stateWithoutASendingChainIsRefused() throws {
        let p = try Pair()
        var bytes = p.alice.serialized()
        bytes[4] &= ~1
        #expect(throws: RatchetError.malformed) { try Conversation(serialized: bytes) }
    }

    @Test func inOrderBothDirections() throws {
        let p = try Pair()
        for round in 0..<5 {
            for i in 0..<3 {
                let m = p.alice.send(text("a\(round).\(i)"))
                #expect(try p.bob.fetch(m) == text("a\(round).\(i)"))
            }
            for i in 0..<3 {
                let m = p.bob.send(text("b\(round).\(i)"))
                #expect(try p.alice.fetch(m) == text("b\(round).\(i)"))
            }
        }
    }

    @Test func eitherSideMayStart() throws {
        let p = try Pair()
        let m = p.bob.send(text("bob first"))
        #expect(try p.alice.fetch(m) == text("bob first"))
        let r = p.alice.send(text("then alice"))
        #expect(try p.bob.fetch(r) == text("then alice"))
    }

    @Test func everyAddressIsFresh() throws {
        let p = try Pair()
        var seen = Set<Bytes32>()
        for i in 0..<200 {
            let m = i % 3 == 0 ? p.bob.send([1]) : p.alice.send([2])
            #expect(seen.insert(m.address).inserted)
            _ = try (i % 3 == 0 ? p.alice : p.bob).fetch(m)
        }
    }

    @Test func outOfOrderWithinWindow() throws {
        let p = try Pair()
        let sent = (0..<20).map { p.alice.send(text("m\($0)")) }
        var order = Array(0..<20)
        order.shuffle()
        for i in order { #expect(try p.bob.fetch(sent[i]) == text("m\(i)")) }
        // Every address was consumed: nothing from that run is watched any more.
        #expect(sent.allSatisfy { !p.bob.watchedAddresses().contains($0.address) })
    }

    @Test func lossDoesNotBreakTheConversation() throws {
        let p = try Pair()
        for i in 0..<10 where i % 3 != 0 { #expect(try p.bob.fetch(p.alice.send(text("\(i)"))) == text("\(i)")) }
        for i in 0..<10 where i % 4 != 0 {
            let m = p.bob.send(text("r\(i)"))
            #expect(try p.alice.fetch(m) == text("r\(i)"))
        }
        #expect(try p.bob.fetch(p.alice.send(text("still here"))) == text("still here"))
    }

    @Test func delayedMessageFromAnEarlierChainArrivesLater() throws {
        let p = try Pair()
        let late = p.alice.send(text("late"))
        let onTime = p.alice.send(text("on time"))
        #expect(try p.bob.fetch(onTime) == text("on time"))
        #expect(try p.alice.fetch(p.bob.send(text("reply"))) == text("reply"))      // Alice ratchets
        #expect(try p.bob.fetch(p.alice.send(text("new chain"))) == text("new chain"))  // Bob ratchets
        #expect(try p.bob.fetch(late) == text("late"))                                // from the skipped keys
    }

    @Test func beyondTheWindowIsNotTracked() throws {
        let config = RatchetConfig(window: 8, maxSkip: 100)
        let p = try Pair(config: config)
        let sent = (0..<12).map { p.alice.send(text("\($0)")) }
        // Message 10 is beyond Bob's window of 8: its address is not watched.
        #expect(!p.bob.watchedAddresses().contains(sent[10].address))
        #expect(throws: RatchetError.unknownAddress) { try p.bob.receive(sent[10]) }
        // Once earlier messages arrive the window slides and it comes into view.
        for i in 0..<4 { _ = try p.bob.fetch(sent[i]) }
        #expect(try p.bob.fetch(sent[10]) == text("10"))
    }

    @Test func bothSendingAtOnce() throws {
        let p = try Pair()
        for round in 0..<4 {
            let fromAlice = (0..<3).map { p.alice.send(text("a\(round)\($0)")) }
            let fromBob = (0..<3).map { p.bob.send(text("b\(round)\($0)")) }
            for (i, m) in fromBob.enumerated().reversed() { #expect(try p.alice.fetch(m) == text("b\(round)\(i)")) }
            for (i, m) in fromAlice.enumerated() { #expect(try p.bob.fetch(m) == text("a\(round)\(i)")) }
        }
    }

    @Test func saveAndRestoreMidConversation() throws {
        let p = try Pair()
        for i in 0..<5 { _ = try p.bob.fetch(p.alice.send(text("\(i)"))) }
        let pending = p.alice.send(text("in flight"))
        let skippedEarlier = p.bob.send(text("skipped"))
        _ = try p.alice.fetch(p.bob.send(text("next")))
        let savedAlice = p.alice.serialized(), savedBob = p.bob.serialized()
        let alice = try Conversation(serialized: savedAlice), bob = try Conversation(serialized: savedBob)
        #expect(alice.serialized() == savedAlice && bob.serialized() == savedBob)
        #expect(try bob.fetch(pending) == text("in flight"))
        #expect(try alice.fetch(skippedEarlier) == text("skipped"))
        #expect(try alice.fetch(bob.send(text("after restore"))) == text("after restore"))
        #expect(try bob.fetch(alice.send(text("and back"))) == text("and back"))
    }

    @Test func forgedAndReplayedMessagesLeaveStateUnchanged() throws {
        let p = try Pair()
        let m = p.alice.send(text("original"))
        let before = p.bob.serialized()
        for index in [0, 1, 30, RatchetMessage.bodyStart, m.ciphertext.count - 1] {
            var forged = m
            forged.ciphertext[index] ^= 0x01
            #expect(throws: RatchetError.self) { try p.bob.receive(forged) }
            #expect(p.bob.serialized() == before, "byte \(index)")
        }
        var truncated = m
        truncated.ciphertext.removeLast(m.ciphertext.count - 20)
        #expect(throws: RatchetError.malformed) { try p.bob.receive(truncated) }
        // Same ciphertext at another watched address: the header is bound to the address.
        var moved = m
        moved.address = p.bob.watchedAddresses()[5]
        #expect(throws: RatchetError.forged) { try p.bob.receive(moved) }
        #expect(p.bob.serialized() == before)

        #expect(try p.bob.receive(m) == text("original"))
        let after = p.bob.serialized()
        #expect(throws: RatchetError.unknownAddress) { try p.bob.receive(m) }   // replay
        #expect(p.bob.serialized() == after)
    }

    /// The buffer forms (what a hot loop uses) interoperate with the array forms, and a forgery never puts
    /// unauthenticated plaintext in the caller's buffer (libsodium leaves it untouched or zeroed).
    @Test func callerBuffersRoundTripAndForgeriesReleaseNothing() throws {
        let p = try Pair()
        let plain = text("into a buffer")
        var sealed = [UInt8](repeating: 0, count: plain.count + RatchetMessage.overhead)
        let address = plain.withUnsafeBytes { t in sealed.withUnsafeMutableBytes { p.alice.send(t, into: $0.baseAddress!) } }
        var forged = sealed
        forged[RatchetMessage.bodyStart + 3] ^= 0x40
        var out = [UInt8](repeating: 0xee, count: plain.count)
        #expect(throws: RatchetError.forged) {
            try forged.withUnsafeBytes { c in try out.withUnsafeMutableBytes { try p.bob.receive(address: address, ciphertext: c, into: $0.baseAddress) } }
        }
        #expect(out.allSatisfy { $0 == 0xee || $0 == 0 })
        try sealed.withUnsafeBytes { c in try out.withUnsafeMutableBytes { try p.bob.receive(address: address, ciphertext: c, into: $0.baseAddress) } }
        #expect(out == plain)
        // Array form and buffer form interoperate.
        #expect(try p.alice.fetch(p.bob.send(text("back"))) == text("back"))
    }

    @Test func skipLimitIsEnforced() throws {
        let p = try Pair(config: RatchetConfig(window: 8, maxSkip: 20))
        // A round trip first, so both sides hold ratcheted chains whichever role (by key order) each has.
        _ = try p.alice.fetch(p.bob.send(text("hello")))
        _ = try p.bob.fetch(p.alice.send(text("hi")))
        for i in 0..<30 { _ = p.alice.send(text("lost \(i)")) }
        _ = try p.alice.fetch(p.bob.send(text("ping")))        // Alice ratchets: next chain says PN = 30
        let m = p.alice.send(text("after a long gap"))
        let before = p.bob.serialized()
        #expect(throws: RatchetError.tooManySkipped) { try p.bob.receive(m) }
        #expect(p.bob.serialized() == before)
    }

    @Test func stateDecodingRejectsDamage() throws {
        let p = try Pair()
        _ = p.alice.send([1])
        let good = p.alice.serialized()
        #expect(throws: RatchetError.malformed) { try Conversation(serialized: Array(good.dropLast())) }
        #expect(throws: RatchetError.malformed) { try Conversation(serialized: [] ) }
        var version = good
        version[3] = 9
        #expect(throws: RatchetError.unsupportedVersion(9)) { try Conversation(serialized: version) }
        var magic = good
        magic[0] = 0
        #expect(throws: RatchetError.malformed) { try Conversation(serialized: magic) }
    }
}
