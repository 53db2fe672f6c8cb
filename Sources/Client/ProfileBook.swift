import PosternCover
import PosternCrypto
import PosternRatchet
import PosternSystem

/// The profile's contents as a person sees them: settings, contacts, pending bundles, outbox and inbox.
/// Every change that pairs a ratchet step with its result (a queued message, a received one) is written
/// in one transaction.
extension Profile {
    static func corrupt<T>(_ value: T?, _ name: String) throws(ProfileError) -> T {
        guard let value else { throw .corrupt(name) }
        return value
    }

    // MARK: Settings

    public func settings() throws(ProfileError) -> ProfileSettings {
        guard let bytes = try get("settings") else { throw .refused("profile \(directory) has no settings; recreate it") }
        return try Self.corrupt(ProfileSettings(bytes), "settings")
    }

    public func save(_ settings: ProfileSettings) throws(ProfileError) { try put("settings", settings.encoded) }

    /// A fresh id for an outbox or an inbox entry (returned with the settings that record it).
    func takeID(inbox: Bool) throws(ProfileError) -> (UInt64, ProfileSettings) {
        var s = try settings()
        let id = inbox ? s.nextInboxID : s.nextOutboxID
        if inbox { s.nextInboxID += 1 } else { s.nextOutboxID += 1 }
        return (id, s)
    }

    // MARK: Contacts

    public func contacts() throws(ProfileError) -> [Contact] {
        try Self.corrupt(ListRecord.decode(try get("contacts"), Contact.decode), "contacts")
    }

    /// The gateways of the contacts, each once, in contact order (what a VIEW names as wanted, §5.8).
    public func contactGateways() throws(ProfileError) -> [Bytes32] {
        var gateways: [Bytes32] = []
        for c in try contacts() where !gateways.contains(c.theirs.gateway) { gateways.append(c.theirs.gateway) }
        return gateways
    }

    public func contact(_ name: String) throws(ProfileError) -> Contact {
        guard let c = try contacts().first(where: { $0.name == name }) else { throw .unknownContact(name) }
        return c
    }

    public func pending() throws(ProfileError) -> [PendingBundle] {
        try Self.corrupt(ListRecord.decode(try get("pending"), PendingBundle.decode), "pending")
    }

    static func checkName(_ name: String) throws(ProfileError) {
        guard !name.isEmpty, name.utf8.count <= 64, !name.hasPrefix("-"),
              name.allSatisfy({ !$0.isNewline && $0 != "\t" }) else {
            throw .refused("a contact name is 1 to 64 characters, on one line, not starting with '-'")
        }
    }

    /// My bundle for a new contact. With a name: the one already made for that name (pending or
    /// added), so asking twice shows the same code.
    public func newBundle(for name: String?, now: Int64) throws(ProfileError) -> ContactBundle {
        let gateway = try settings().gateway
        if let name {
            try Self.checkName(name)
            if let c = try contacts().first(where: { $0.name == name }) { return c.mine }
            if let p = try pending().first(where: { $0.name == name }) { return ContactSecret(secret: p.secret, gateway: gateway).bundle }
        }
        let secret = ContactSecret(gateway: gateway)
        let list = try pending() + [PendingBundle(name: name ?? "", secret: secret.secret, createdAt: now)]
        try put("pending", ListRecord.encode(list) { $0.encode(&$1) })
        return secret.bundle
    }

    /// Adds `theirs` as `name`, paired with my pending bundle for that name, else the oldest unnamed one,
    /// else a new one. Returns the contact; `madeBundle` is true when a new bundle of mine was made
    /// (the other person still needs it).
    public func addContact(_ name: String, _ theirs: ContactBundle, now: Int64) throws(ProfileError) -> (contact: Contact, madeBundle: Bool) {
        try Self.checkName(name)
        var list = try contacts()
        guard !list.contains(where: { $0.name == name }) else { throw .refused("a contact named '\(name)' already exists") }
        if let other = list.first(where: { $0.theirs.publicKey == theirs.publicKey }) {
            throw .refused("this bundle is already added, as '\(other.name)'")
        }
        var pending = try pending()
        let gateway = try settings().gateway
        if pending.contains(where: { ContactSecret(secret: $0.secret, gateway: gateway).bundle.publicKey == theirs.publicKey })
            || list.contains(where: { $0.mine.publicKey == theirs.publicKey }) {
            throw .refused("that is one of your own bundles: add the one the other person shows you")
        }
        let index = pending.firstIndex(where: { $0.name == name }) ?? pending.firstIndex(where: { $0.name.isEmpty })
        let secret: Bytes32
        if let index { secret = pending.remove(at: index).secret } else { secret = ContactSecret(gateway: gateway).secret }
        let contact = Contact(name: name, theirs: theirs, secret: secret, addedAt: now, ourGateway: gateway)
        let conversation: Conversation
        do { conversation = try Conversation(ours: ContactSecret(secret: secret, gateway: gateway), theirs: theirs) } catch {
            throw .refused("cannot start a conversation with this bundle: \(error.description)")
        }
        list.append(contact)
        try write([("contacts", ListRecord.encode(list) { $0.encode(&$1) }),
                   ("pending", ListRecord.encode(pending) { $0.encode(&$1) }),
                   ("state/" + name, conversation.serialized())])
        return (contact, index == nil)
    }

    /// The view kept from the last refresh (record "network", docs/CLIENT.md §5): the descriptors and the
    /// epoch they were fetched in. Empty when none is kept.
    public func keptNetwork() throws(ProfileError) -> (epoch: UInt32?, descriptors: [[UInt8]]) {
        guard let bytes = try get("network") else { return (nil, []) }
        guard let kept = ClientNetwork.decode(bytes) else { throw .corrupt("network") }
        return kept
    }

    public func save(network: ClientNetwork) throws(ProfileError) { try put("network", network.encoded) }

    /// What the cover schedule sent today (record "cover-spent", 16 bytes: `CoverSpend.encoded`), so that
    /// restarting `inbox --watch` does not restart the day's byte budget. nil when none is kept.
    public func coverSpent() throws(ProfileError) -> CoverSpend? {
        guard let bytes = try get("cover-spent") else { return nil }
        return try Self.corrupt(CoverSpend(encoded: bytes), "cover-spent")
    }

    public func save(coverSpent: CoverSpend) throws(ProfileError) { try put("cover-spent", coverSpent.encoded) }

    /// Bytes to and from the gateway today and this month (record "usage": `Usage.encoded`); nil when
    /// nothing was counted yet.
    public func usage() throws(ProfileError) -> Usage? {
        guard let bytes = try get("usage") else { return nil }
        return try Self.corrupt(Usage(encoded: bytes), "usage")
    }

    /// Adds what a connection moved (`GatewayClient.takeUsage()`) on `day` (days since 1970, UTC).
    public func record(usage counts: UsageCounts, day: Int64) throws(ProfileError) {
        guard !counts.isEmpty else { return }
        var u = try usage() ?? Usage(day: day)
        u.add(counts, day: day)
        try put("usage", u.encoded)
    }

    /// Two people meeting, as `postern contact new` / `contact add` do it by hand: I show a code made for
    /// `otherName`, the other adds it as `myName` and shows a code back (made on the spot), which I add.
    /// (The demo and the tests pair their profiles this way.)
    public func meet(_ other: Profile, calling otherName: String, calledBy myName: String, now: Int64) throws(ProfileError) {
        let mine = try newBundle(for: otherName, now: now)
        _ = try other.addContact(myName, mine, now: now)
        let theirs = try other.newBundle(for: myName, now: now)
        _ = try addContact(otherName, theirs, now: now)
    }

    /// Removes a contact with its conversation, queued and received messages (or a pending bundle of
    /// that name). False if there was nothing of that name.
    public func removeContact(_ name: String) throws(ProfileError) -> Bool {
        let list = try contacts(), pending = try pending()
        let keptContacts = list.filter { $0.name != name }, keptPending = pending.filter { $0.name != name }
        guard keptContacts.count < list.count || keptPending.count < pending.count else { return false }
        try write([("contacts", ListRecord.encode(keptContacts) { $0.encode(&$1) }),
                   ("pending", ListRecord.encode(keptPending) { $0.encode(&$1) }),
                   ("state/" + name, nil),
                   ("outbox", ListRecord.encode(try outbox().filter { $0.contact != name }) { $0.encode(&$1) }),
                   ("inbox", ListRecord.encode(try inbox().filter { $0.contact != name }) { $0.encode(&$1) })])
        return true
    }

    public func conversation(_ name: String) throws(ProfileError) -> Conversation {
        _ = try contact(name)
        let bytes = try Self.corrupt(try get("state/" + name), "state/" + name)
        do { return try Conversation(serialized: bytes) } catch { throw .corrupt("state/" + name) }
    }

    // MARK: Outbox

    public func outbox() throws(ProfileError) -> [OutboxEntry] {
        try Self.corrupt(ListRecord.decode(try get("outbox"), OutboxEntry.decode), "outbox")
    }

    public func save(outbox: [OutboxEntry]) throws(ProfileError) {
        try put("outbox", ListRecord.encode(outbox) { $0.encode(&$1) })
    }

    /// Encrypts `text` for `name` and queues it; the ratchet step and the queued message are stored
    /// together, before anything leaves.
    public func queue(_ text: [UInt8], to name: String, conversation: Conversation, now: Int64) throws(ProfileError) -> OutboxEntry {
        let message = conversation.send(MessageContent.encode(text, sentAt: now))
        let (id, settings) = try takeID(inbox: false)
        let entry = OutboxEntry(id: id, contact: name, text: text, createdAt: now, address: message.address, ciphertext: message.ciphertext)
        try write([("state/" + name, conversation.serialized()),
                   ("outbox", ListRecord.encode(try outbox() + [entry]) { $0.encode(&$1) }),
                   ("settings", settings.encoded)])
        return entry
    }

    // MARK: Inbox

    public func inbox() throws(ProfileError) -> [InboxEntry] {
        try Self.corrupt(ListRecord.decode(try get("inbox"), InboxEntry.decode), "inbox")
    }

    public func save(inbox: [InboxEntry]) throws(ProfileError) {
        try put("inbox", ListRecord.encode(inbox) { $0.encode(&$1) })
    }

    /// Stores a received message with the ratchet state that decrypted it, in one transaction.
    public func received(_ plaintext: [UInt8], from name: String, conversation: Conversation, now: Int64) throws(ProfileError) -> InboxEntry {
        let (text, sentAt) = MessageContent.decode(plaintext)
        let (id, settings) = try takeID(inbox: true)
        let entry = InboxEntry(id: id, contact: name, text: text, sentAt: sentAt, receivedAt: now, seen: false)
        try write([("state/" + name, conversation.serialized()),
                   ("inbox", ListRecord.encode(try inbox() + [entry]) { $0.encode(&$1) }),
                   ("settings", settings.encoded)])
        return entry
    }

    // MARK: Retention

    /// Applies the retention policy (docs/CLIENT.md): received messages older than the retention period
    /// (shown ones at once when it is 0) and outgoing ones still unacknowledged after it (a day when 0)
    /// are deleted. Returns the outgoing messages given up on.
    @discardableResult
    public func applyRetention(now: Int64) throws(ProfileError) -> [OutboxEntry] {
        let days = Int64(try settings().retentionDays)
        let inbox = try inbox(), outbox = try outbox()
        let keptIn = inbox.filter { days == 0 ? !$0.seen : now - $0.receivedAt < days * 86_400 }
        let outLimit = max(days, 1) * 86_400
        let keptOut = outbox.filter { now - $0.createdAt < outLimit }
        guard keptIn.count < inbox.count || keptOut.count < outbox.count else { return [] }
        try write([("inbox", ListRecord.encode(keptIn) { $0.encode(&$1) }),
                   ("outbox", ListRecord.encode(keptOut) { $0.encode(&$1) })])
        return outbox.filter { now - $0.createdAt >= outLimit }
    }
}
