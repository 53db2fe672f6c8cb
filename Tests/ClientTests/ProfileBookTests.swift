import Foundation
import PosternClient
import PosternCrypto
import PosternRatchet
import Testing

/// Contacts, pending bundles, the outbox/inbox records and the retention policy, without a network.
@Suite struct ProfileBookTests {
    final class Scratch {
        let dir = NSTemporaryDirectory() + "postern-book-" + UUID().uuidString
        deinit { try? FileManager.default.removeItem(atPath: dir) }
        func profile(_ name: String, gateway: Bytes32 = .random()) throws -> Profile {
            let p = try Profile.create(directory: dir + "/" + name, passphrase: Array(name.utf8))
            try p.save(ProfileSettings(gateway: gateway, createdAt: 1_000))
            return p
        }
        /// A profile "me" with a contact "ada" (her secret kept) and one message queued to her.
        func meAndAda() throws -> (me: Profile, ada: ContactSecret, first: OutboxEntry) {
            let me = try profile("me")
            let ada = ContactSecret(gateway: .random())
            _ = try me.addContact("ada", ada.bundle, now: 1)
            return (me, ada, try me.queue(Array("one".utf8), to: "ada", conversation: try me.conversation("ada"), now: 2))
        }
    }

    @Test func bundlesPairByNameThenUnnamedThenFresh() throws {
        let s = Scratch()
        let me = try s.profile("me")
        let forAda = try me.newBundle(for: "ada", now: 1)
        #expect(try me.newBundle(for: "ada", now: 2) == forAda)          // same code when asked again
        let unnamed = try me.newBundle(for: nil, now: 3)
        #expect(unnamed != forAda)
        #expect(try me.pending().count == 2)

        let ada = ContactSecret(gateway: .random()), bo = ContactSecret(gateway: .random()), cy = ContactSecret(gateway: .random())
        let (a, madeA) = try me.addContact("ada", ada.bundle, now: 10)
        #expect(!madeA && a.mine == forAda)
        let (b, madeB) = try me.addContact("bo", bo.bundle, now: 11)      // takes the unnamed one
        #expect(!madeB && b.mine == unnamed)
        let (c, madeC) = try me.addContact("cy", cy.bundle, now: 12)      // nothing pending: a fresh one
        #expect(madeC && c.mine != forAda && c.mine != unnamed)
        #expect(try me.pending().isEmpty)
        #expect(try me.newBundle(for: "cy", now: 13) == c.mine)           // shown again for an added contact

        // Each conversation works with the other side's.
        let theirs = try Conversation(ours: ada, theirs: forAda)
        let mine = try me.conversation("ada")
        let m = theirs.send(Array("hi".utf8))
        #expect(try mine.receive(m) == Array("hi".utf8))
    }

    @Test func refusals() throws {
        let s = Scratch()
        let me = try s.profile("me")
        let mine = try me.newBundle(for: "x", now: 1)
        #expect(throws: ProfileError.self) { try me.addContact("x", mine, now: 2) }     // own bundle
        let other = ContactSecret(gateway: .random()).bundle
        _ = try me.addContact("ada", other, now: 3)
        #expect(throws: ProfileError.refused("a contact named 'ada' already exists")) { try me.addContact("ada", ContactSecret(gateway: .random()).bundle, now: 4) }
        #expect(throws: ProfileError.refused("this bundle is already added, as 'ada'")) { try me.addContact("ada2", other, now: 4) }
        #expect(throws: ProfileError.self) { try me.addContact("", ContactSecret(gateway: .random()).bundle, now: 4) }
        #expect(throws: ProfileError.self) { try me.addContact("-rf", ContactSecret(gateway: .random()).bundle, now: 4) }
        #expect(throws: ProfileError.unknownContact("nobody")) { try me.conversation("nobody") }
    }

    @Test func removeDeletesConversationAndMessages() throws {
        let s = Scratch()
        let me = try s.profile("me")
        let ada = ContactSecret(gateway: .random()), bo = ContactSecret(gateway: .random())
        _ = try me.addContact("ada", ada.bundle, now: 1)
        _ = try me.addContact("bo", bo.bundle, now: 1)
        _ = try me.queue(Array("to ada".utf8), to: "ada", conversation: try me.conversation("ada"), now: 2)
        _ = try me.queue(Array("to bo".utf8), to: "bo", conversation: try me.conversation("bo"), now: 2)
        let fromAda = try Conversation(ours: ada, theirs: try me.contacts()[0].mine).send(MessageContent.encode(Array("from ada".utf8), sentAt: 5))
        let c = try me.conversation("ada")
        let plain = try c.receive(fromAda)
        let got = try me.received(plain, from: "ada", conversation: c, now: 6)
        #expect(got.text == Array("from ada".utf8) && got.sentAt == 5 && got.receivedAt == 6)
        #expect(try me.removeContact("ada"))
        #expect(try me.contacts().map(\.name) == ["bo"])
        #expect(try me.outbox().map(\.contact) == ["bo"] && (try me.inbox()).isEmpty)
        #expect(try me.get("state/ada") == nil)
        #expect(try !me.removeContact("ada"))
        // Ids are never reused within a list.
        let ids = try me.outbox().map(\.id)
        #expect(Set(ids).count == ids.count && got.id == 1)
    }

    /// Sent and received messages are numbered each on their own, 1, 2, 3 … (one shared counter made the
    /// second message sent "#3" once one had arrived); a version-1 settings record (one counter) goes on
    /// after it in both lists, so no id is reused.
    @Test func sentAndReceivedAreNumberedApart() throws {
        let s = Scratch()
        let (me, ada, first) = try s.meAndAda()
        let adaSide = try Conversation(ours: ada, theirs: try me.contacts()[0].mine)
        let reply = adaSide.send(MessageContent.encode(Array("hi".utf8), sentAt: 3))
        let c = try me.conversation("ada")
        let got = try me.received(try c.receive(reply), from: "ada", conversation: c, now: 4)
        let second = try me.queue(Array("two".utf8), to: "ada", conversation: try me.conversation("ada"), now: 5)
        #expect([first.id, second.id] == [1, 2] && got.id == 1)

        // Version 1 (little-endian fields): gateway ‖ days (30) ‖ created (9) ‖ one next id (7).
        var v1: [UInt8] = [1, 32, 0, 0, 0] + Bytes32.random().bytes + [30, 0, 0, 0] + [9] + [UInt8](repeating: 0, count: 7)
        v1 += [7, 0, 0, 0, 0, 0, 0, 0]
        try me.put("settings", v1)
        let settings = try me.settings()
        #expect(settings.nextOutboxID == 7 && settings.nextInboxID == 7 && settings.createdAt == 9 && settings.retentionDays == 30)
    }

    /// A new passphrase: every record re-encrypted under a fresh salt; the old passphrase no longer opens
    /// the profile, the new one opens it with everything in it. A change that committed its records and
    /// stopped before replacing the salt is finished by the next open.
    @Test func passphraseChangeKeepsEverything() throws {
        let s = Scratch()
        let dir = s.dir + "/me"
        var me: Profile? = try s.profile("me")
        let ada = ContactSecret(gateway: .random())
        _ = try me!.addContact("ada", ada.bundle, now: 1)
        _ = try me!.queue(Array("one".utf8), to: "ada", conversation: try me!.conversation("ada"), now: 2)
        let before = try me!.allRecords()
        #expect(Set(["settings", "contacts", "outbox", "state/ada"]).isSubset(of: before.map(\.name)))
        let oldSalt = try Data(contentsOf: URL(fileURLWithPath: dir + "/profile.salt"))
        try me!.changePassphrase(to: Array("a much better passphrase".utf8))
        #expect(try me!.allRecords().map(\.value) == before.map(\.value))
        me = nil
        #expect(throws: ProfileError.wrongPassphrase) { try Profile.open(directory: dir, passphrase: Array("me".utf8)) }
        let reopened = try Profile.open(directory: dir, passphrase: Array("a much better passphrase".utf8))
        #expect(try reopened.allRecords().map(\.value) == before.map(\.value))
        #expect(try Data(contentsOf: URL(fileURLWithPath: dir + "/profile.salt")) != oldSalt)
        #expect(!FileManager.default.fileExists(atPath: dir + "/profile.salt.new"))

        // Stopped after the commit, before the salt was replaced: the old salt back, the new one beside it.
        let newSalt = try Data(contentsOf: URL(fileURLWithPath: dir + "/profile.salt"))
        reopened.close()
        try oldSalt.write(to: URL(fileURLWithPath: dir + "/profile.salt"))
        try newSalt.write(to: URL(fileURLWithPath: dir + "/profile.salt.new"))
        let recovered = try Profile.open(directory: dir, passphrase: Array("a much better passphrase".utf8))
        #expect(try recovered.allRecords().map(\.value) == before.map(\.value))
        #expect(try Data(contentsOf: URL(fileURLWithPath: dir + "/profile.salt")) == newSalt)
        #expect(!FileManager.default.fileExists(atPath: dir + "/profile.salt.new"))
    }

    /// Export to one encrypted file and import elsewhere: the ratchet state comes along, so the
    /// conversation goes on from the restored profile (its next message reaches the contact, and the
    /// contact's reply is read there).
    @Test func exportAndImportCarryTheConversation() throws {
        let s = Scratch()
        let (me, ada, first) = try s.meAndAda()
        let file = try me.exported(passphrase: Array("me".utf8))
        #expect(throws: ProfileError.wrongPassphrase) { try Profile.importing(file, passphrase: Array("nope".utf8), directory: s.dir + "/x") }
        let restored = try Profile.importing(file, passphrase: Array("me".utf8), directory: s.dir + "/elsewhere")
        #expect(try restored.allRecords().map(\.value) == me.allRecords().map(\.value))
        #expect(throws: ProfileError.exists(s.dir + "/elsewhere")) { try Profile.importing(file, passphrase: Array("me".utf8), directory: s.dir + "/elsewhere") }

        let adaSide = try Conversation(ours: ada, theirs: try me.contacts()[0].mine)
        #expect(MessageContent.decode(try adaSide.receive(RatchetMessage(address: first.address, ciphertext: first.ciphertext))).text == Array("one".utf8))
        let second = try restored.queue(Array("two".utf8), to: "ada", conversation: try restored.conversation("ada"), now: 3)
        #expect(MessageContent.decode(try adaSide.receive(RatchetMessage(address: second.address, ciphertext: second.ciphertext))).text == Array("two".utf8))
        let reply = adaSide.send(MessageContent.encode(Array("three".utf8), sentAt: 4))
        let c = try restored.conversation("ada")
        #expect(MessageContent.decode(try c.receive(reply)).text == Array("three".utf8))
        // Text and names are not readable in the file.
        #expect(!file.starts(with: Array("one".utf8)) && String(decoding: file, as: UTF8.self).range(of: "state/ada") == nil)
    }

    @Test func queuedStepAndMessageAreOneTransaction() throws {
        let s = Scratch()
        let ada = ContactSecret(gateway: .random())
        let entry: OutboxEntry
        do {
            let first = try s.profile("me")
            _ = try first.addContact("ada", ada.bundle, now: 1)
            entry = try first.queue(Array("one".utf8), to: "ada", conversation: try first.conversation("ada"), now: 2)
        }
        // Reopened (a new process): the stored state continues after the queued message, never reusing it.
        let me = try Profile.open(directory: s.dir + "/me", passphrase: Array("me".utf8))
        #expect(try me.outbox() == [entry])
        let next = try me.conversation("ada").send(Array("two".utf8))
        #expect(next.address != entry.address)
        let adaSide = try Conversation(ours: ada, theirs: try me.contacts()[0].mine)
        let first = try adaSide.receive(RatchetMessage(address: entry.address, ciphertext: entry.ciphertext))
        #expect(MessageContent.decode(first).text == Array("one".utf8))
    }

    @Test func retention() throws {
        let s = Scratch()
        let me = try s.profile("me")
        _ = try me.addContact("ada", ContactSecret(gateway: .random()).bundle, now: 0)
        let day: Int64 = 86_400
        try me.save(inbox: [InboxEntry(id: 1, contact: "ada", text: [1], sentAt: 0, receivedAt: 0, seen: true),
                            InboxEntry(id: 2, contact: "ada", text: [2], sentAt: 0, receivedAt: 25 * day, seen: true),
                            InboxEntry(id: 3, contact: "ada", text: [3], sentAt: 0, receivedAt: 29 * day, seen: false)])
        let old = try me.queue([9], to: "ada", conversation: try me.conversation("ada"), now: 0)
        let recent = try me.queue([8], to: "ada", conversation: try me.conversation("ada"), now: 20 * day)
        // Default 30 days, at day 31: the day-0 message and the day-0 outgoing one go.
        let gaveUp = try me.applyRetention(now: 31 * day)
        #expect(gaveUp.map(\.id) == [old.id])
        #expect(try me.inbox().map(\.id) == [2, 3])
        #expect(try me.outbox().map(\.id) == [recent.id])
        // Retention 0: read messages go at once, unread ones stay.
        var settings = try me.settings()
        settings.retentionDays = 0
        try me.save(settings)
        try me.applyRetention(now: 31 * day)
        #expect(try me.inbox().map(\.id) == [3])
    }
}
