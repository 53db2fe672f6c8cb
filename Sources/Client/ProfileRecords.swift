import PosternCover
import PosternNetwork
import PosternCrypto
import PosternRatchet

/// What a profile holds, record by record (docs/CLIENT.md). Each type encodes itself with
/// `RecordWriter`; lists are stored as one record each ("contacts", "pending", "outbox", "inbox") and
/// ratchet states one per contact ("state/NAME").

/// Profile-wide settings: the gateway whose mailbox this profile reads, and how long data is kept.
public struct ProfileSettings: Equatable {
    public var gateway: Bytes32
    /// Days a received message, and an unacknowledged outgoing one, are kept (0: received messages
    /// are deleted once shown, outgoing ones are retried for a day).
    public var retentionDays: Int
    public var createdAt: Int64
    /// The next id of an outgoing and of a received message: two counters, so each list numbers its
    /// own entries 1, 2, 3 … (one shared counter made the second message sent "#3" after one arrived).
    public var nextOutboxID: UInt64
    public var nextInboxID: UInt64

    public static let defaultRetentionDays = 30

    public init(gateway: Bytes32, retentionDays: Int = defaultRetentionDays, createdAt: Int64, nextOutboxID: UInt64 = 1, nextInboxID: UInt64 = 1) {
        self.gateway = gateway
        self.retentionDays = retentionDays
        self.createdAt = createdAt
        self.nextOutboxID = nextOutboxID
        self.nextInboxID = nextInboxID
    }

    /// Version 2: gateway ‖ retention days (u32) ‖ created (i64) ‖ next outbox id (u64) ‖ next inbox id (u64).
    /// Version 1 had one shared counter; both lists continue after it.
    var encoded: [UInt8] {
        var w = RecordWriter(version: 2)
        w.data(gateway.bytes)
        w.u32(UInt32(retentionDays))
        w.u64(UInt64(bitPattern: createdAt))
        w.u64(nextOutboxID)
        w.u64(nextInboxID)
        return w.bytes
    }

    init?(_ bytes: [UInt8]) {
        var r = RecordReader(bytes)
        guard r.version == 1 || r.version == 2, let g = r.data(), let gateway = Bytes32(g), let days = r.u32(), let created = r.u64(),
              let next = r.u64() else { return nil }
        let nextInbox = r.version == 2 ? r.u64() : next
        guard let nextInbox, r.atEnd else { return nil }
        self.init(gateway: gateway, retentionDays: Int(days), createdAt: Int64(bitPattern: created), nextOutboxID: next, nextInboxID: nextInbox)
    }
}

/// A person this profile talks to: their bundle and the secret behind the bundle they got from us.
public struct Contact: Equatable {
    public var name: String
    public var theirs: ContactBundle
    public var secret: Bytes32
    public var addedAt: Int64
    /// The bundle this profile gave the contact.
    public var mine: ContactBundle { ContactSecret(secret: secret, gateway: ourGateway).bundle }
    /// Our gateway when the bundle was made (the one printed in `mine`).
    public var ourGateway: Bytes32

    func encode(_ w: inout RecordWriter) {
        w.text(name)
        w.text(theirs.text)
        w.data(secret.bytes)
        w.data(ourGateway.bytes)
        w.u64(UInt64(bitPattern: addedAt))
    }

    static func decode(_ r: inout RecordReader) -> Contact? {
        guard let name = r.text(), let text = r.text(), let theirs = try? ContactBundle(text: text),
              let s = r.data(), let secret = Bytes32(s), let g = r.data(), let gateway = Bytes32(g), let at = r.u64()
        else { return nil }
        return Contact(name: name, theirs: theirs, secret: secret, addedAt: Int64(bitPattern: at), ourGateway: gateway)
    }
}

/// A bundle handed out (`contact new`) whose counterpart has not been added yet.
public struct PendingBundle: Equatable {
    /// The contact it was made for ("" when made without a name).
    public var name: String
    public var secret: Bytes32
    public var createdAt: Int64

    func encode(_ w: inout RecordWriter) {
        w.text(name)
        w.data(secret.bytes)
        w.u64(UInt64(bitPattern: createdAt))
    }

    static func decode(_ r: inout RecordReader) -> PendingBundle? {
        guard let name = r.text(), let s = r.data(), let secret = Bytes32(s), let at = r.u64() else { return nil }
        return PendingBundle(name: name, secret: secret, createdAt: Int64(bitPattern: at))
    }
}

/// An outgoing message, from the moment it is encrypted until its delivery is acknowledged. The ratchet
/// ciphertext is fixed when queued, so every retry sends the same message (in a fresh packet); the
/// recipient's ratchet ignores duplicates.
public struct OutboxEntry: Equatable {
    public var id: UInt64
    public var contact: String
    public var text: [UInt8]
    public var createdAt: Int64
    public var address: Bytes32
    public var ciphertext: [UInt8]
    public var attempts: UInt32 = 0
    public var lastAttempt: Int64 = 0
    /// The acknowledgement the last attempt waits for: its address and the SURB secrets (serialised).
    public var ackAddress: Bytes32?
    public var ackSecrets: [UInt8] = []

    func encode(_ w: inout RecordWriter) {
        w.u64(id)
        w.text(contact)
        w.data(text)
        w.u64(UInt64(bitPattern: createdAt))
        w.data(address.bytes)
        w.data(ciphertext)
        w.u32(attempts)
        w.u64(UInt64(bitPattern: lastAttempt))
        w.data(ackAddress?.bytes ?? [])
        w.data(ackSecrets)
    }

    static func decode(_ r: inout RecordReader) -> OutboxEntry? {
        guard let id = r.u64(), let contact = r.text(), let text = r.data(), let created = r.u64(), let a = r.data(),
              let address = Bytes32(a), let ciphertext = r.data(), let attempts = r.u32(), let last = r.u64(),
              let ack = r.data(), let secrets = r.data() else { return nil }
        return OutboxEntry(id: id, contact: contact, text: text, createdAt: Int64(bitPattern: created), address: address,
                           ciphertext: ciphertext, attempts: attempts, lastAttempt: Int64(bitPattern: last),
                           ackAddress: ack.isEmpty ? nil : Bytes32(ack), ackSecrets: secrets)
    }
}

/// A received, decrypted message.
public struct InboxEntry: Equatable {
    public var id: UInt64
    public var contact: String
    public var text: [UInt8]
    /// When the sender wrote it (their clock) and when this profile fetched it.
    public var sentAt: Int64
    public var receivedAt: Int64
    public var seen: Bool

    public init(id: UInt64, contact: String, text: [UInt8], sentAt: Int64, receivedAt: Int64, seen: Bool) {
        self.id = id
        self.contact = contact
        self.text = text
        self.sentAt = sentAt
        self.receivedAt = receivedAt
        self.seen = seen
    }

    func encode(_ w: inout RecordWriter) {
        w.u64(id)
        w.text(contact)
        w.data(text)
        w.u64(UInt64(bitPattern: sentAt))
        w.u64(UInt64(bitPattern: receivedAt))
        w.u8(seen ? 1 : 0)
    }

    static func decode(_ r: inout RecordReader) -> InboxEntry? {
        guard let id = r.u64(), let contact = r.text(), let text = r.data(), let sent = r.u64(), let received = r.u64(),
              let seen = r.u8() else { return nil }
        return InboxEntry(id: id, contact: contact, text: text, sentAt: Int64(bitPattern: sent),
                          receivedAt: Int64(bitPattern: received), seen: seen == 1)
    }
}

/// The plaintext inside a ratchet message sent by a profile: 0x01 ‖ sent time (u64 LE, Unix seconds) ‖
/// UTF-8 text.
public enum MessageContent {
    public static func encode(_ text: [UInt8], sentAt: Int64) -> [UInt8] {
        var w = RecordWriter(version: 1)
        w.u64(UInt64(bitPattern: sentAt))
        return w.bytes + text
    }

    /// (text, sent time); plaintext from other clients (no header) is shown as it is, time unknown (0).
    public static func decode(_ bytes: [UInt8]) -> (text: [UInt8], sentAt: Int64) {
        var r = RecordReader(bytes)
        guard r.version == 1, let at = r.u64() else { return (bytes, 0) }
        return (Array(bytes[9...]), Int64(bitPattern: at))
    }
}

/// Encodes/decodes a list record: version ‖ count (u32) ‖ items.
enum ListRecord {
    static func encode<T>(_ items: [T], _ one: (T, inout RecordWriter) -> Void) -> [UInt8] {
        var w = RecordWriter(version: 1)
        w.u32(UInt32(items.count))
        for item in items { one(item, &w) }
        return w.bytes
    }

    static func decode<T>(_ bytes: [UInt8]?, _ one: (inout RecordReader) -> T?) -> [T]? {
        guard let bytes else { return [] }
        var r = RecordReader(bytes)
        guard r.version == 1, let count = r.u32() else { return nil }
        var out: [T] = []
        for _ in 0..<count {
            guard let item = one(&r) else { return nil }
            out.append(item)
        }
        return r.atEnd ? out : nil
    }
}

/// Every record a profile reads, decoded as the profile decodes it: for the fuzzer, which checks that
/// any bytes under any name are refused or decoded, never a crash, and that what decodes re-encodes to
/// bytes that decode to the same thing.
public enum ProfileRecord {
    /// The names (`state/NAME` stands for every contact's ratchet state).
    public static let names = ["settings", "contacts", "pending", "outbox", "inbox", "network", "cover-spent", "state/NAME", "usage"]

    /// What record `name` holding `bytes` re-encodes to once decoded; nil when the profile would call it corrupt.
    public static func reencoded(_ name: String, _ bytes: [UInt8]) -> [UInt8]? {
        switch name {
        case "settings": return ProfileSettings(bytes)?.encoded
        case "contacts": return ListRecord.decode(bytes, Contact.decode).map { ListRecord.encode($0) { $0.encode(&$1) } }
        case "pending": return ListRecord.decode(bytes, PendingBundle.decode).map { ListRecord.encode($0) { $0.encode(&$1) } }
        case "outbox": return ListRecord.decode(bytes, OutboxEntry.decode).map { ListRecord.encode($0) { $0.encode(&$1) } }
        case "inbox": return ListRecord.decode(bytes, InboxEntry.decode).map { ListRecord.encode($0) { $0.encode(&$1) } }
        case "network":
            guard let (epoch, descriptors) = ClientNetwork.decode(bytes) else { return nil }
            let e = epoch ?? 0
            return [1, UInt8(e >> 24), UInt8(e >> 16 & 0xff), UInt8(e >> 8 & 0xff), UInt8(e & 0xff)] + NodeDescriptor.encodeList(descriptors)
        case "cover-spent": return CoverSpend(encoded: bytes)?.encoded
        case "usage": return Usage(encoded: bytes)?.encoded
        default: return (try? Conversation(serialized: bytes))?.serialized()
        }
    }
}
