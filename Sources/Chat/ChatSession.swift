import PosternCrypto

/// A session identity: the key one person posts under in one public chat, for one rotation
/// (docs/CHAT.md, "Sessions"). Derived from the seed, so every device restored from the phrase finds it
/// without a sync message:
///
///     root   = BIP32 m/43'/60'/1581'/0'/1'  (secret key, never published)
///     secret = HKDF-SHA256(salt "postern/chat-session/v1", ikm root, info u32 BE rotation ‖ u32 BE try ‖ chat id, 32)
///
/// with `try` counting from 0 until the output is a valid secp256k1 secret. Without the root, the secrets
/// of different chats and rotations are independent pseudorandom values, and their public keys are
/// unrelated points: nothing links two sessions to each other or to the chat key.
public struct ChatSession: Equatable {
    public static let rootPath = "m/43'/60'/1581'/0'/1'"
    public let chatID: String
    public let rotation: UInt32
    let secret: [UInt8]
    /// 65 bytes uncompressed: the key the chat sees (recovered from every post under this session).
    public let publicKey: [UInt8]

    /// How the session shows to people: its compressed key, shortened.
    public var pseudonym: String { Self.pseudonym(publicKey) }

    public static func pseudonym(_ key: [UInt8]) -> String {
        "0x" + Hex.encode(Array((Secp256k1.normalize(key, compressed: true) ?? key).prefix(8)))
    }

    init(root: [UInt8], chatID: String, rotation: UInt32) {
        self.chatID = chatID
        self.rotation = rotation
        var attempt: UInt32 = 0
        var s: [UInt8]
        repeat {
            let info = SessionWriter.u32(rotation) + SessionWriter.u32(attempt) + Array(chatID.utf8)
            s = try! HKDF.derive(salt: Array("postern/chat-session/v1".utf8), ikm: root, info: info, count: 32)
            attempt += 1
        } while !Secp256k1.isValidSecret(s)
        secret = s
        publicKey = Secp256k1.publicKey(s, compressed: false)!
    }

}

/// A statement binding a session key to a chat key (docs/CHAT.md, "Revealing a session").
///
/// Public form (field 21 of a post in the chat, readable by anyone):
///
///     "postern-session-reveal/1" ‖ u16 BE |chat id| ‖ chat id ‖ session key (65) ‖ chat key (65)
///       ‖ Sign(session, d) (65) ‖ Sign(chat key, d) (65),      d = keccak256(everything before the signatures)
///
/// Private form (sent to one contact through its Postern conversation): the same with the prefix
/// "postern-session-reveal-to/1", the recipient's 32-byte contact key after the chat key, and only the
/// session's signature. It proves to the contact that whoever holds the session chose to tell *them*
/// (the conversation tells them who that is); it carries no signature by the chat key, so shown to anyone
/// else it proves nothing about who the person is.
public struct RevealStatement: Equatable {
    public static let publicPrefix = Array("postern-session-reveal/1".utf8)
    public static let privatePrefix = Array("postern-session-reveal-to/1".utf8)

    public let chatID: String
    public let sessionKey: [UInt8]
    /// The chat key (public form) — nil in the private form.
    public let chatKey: [UInt8]?
    /// The contact key it was made for (private form).
    public let recipient: [UInt8]?
    public let encoded: [UInt8]

    /// Parses and verifies a statement: every signature must recover to the key it names.
    public init(verifying bytes: [UInt8]) throws(ChatError) {
        var r = SessionReader(bytes, what: "reveal statement")
        let isPublic: Bool
        if r.skip(prefix: Self.publicPrefix) { isPublic = true }
        else if r.skip(prefix: Self.privatePrefix) { isPublic = false }
        else { throw .malformed("not a session reveal statement") }
        let chat = try r.text()
        let session = try r.take(65)
        let second = try r.take(isPublic ? 65 : 32)
        let digest = Keccak256.hash(r.consumed)
        guard Secp256k1.recover(digest: digest, signature: try r.take(65)) == session else { throw .badSignature }
        if isPublic {
            guard Secp256k1.recover(digest: digest, signature: try r.take(65)) == second else { throw .badSignature }
        }
        try r.end()
        chatID = chat
        sessionKey = session
        chatKey = isPublic ? second : nil
        recipient = isPublic ? nil : second
        encoded = bytes
    }

    /// The chat a reveal or link statement is about, read without verifying it (to pick the statements
    /// about one chat out of many before checking them).
    public static func chatID(of bytes: [UInt8]) -> String? {
        var r = SessionReader(bytes, what: "statement")
        guard [publicPrefix, privatePrefix, LinkStatement.prefix].contains(where: { r.skip(prefix: $0) }) else { return nil }
        return try? r.text()
    }

    static func body(prefix: [UInt8], chatID: String, session: [UInt8], second: [UInt8]) -> [UInt8] {
        prefix + SessionWriter.text(chatID) + session + second
    }
}

/// A statement, for one contact, that a new session continues an old one (docs/CHAT.md, "Rotation"):
///
///     "postern-session-link-to/1" ‖ u16 BE |chat id| ‖ chat id ‖ old session key (65) ‖ new session key (65)
///       ‖ recipient's contact key (32) ‖ Sign(old, d) (65) ‖ Sign(new, d) (65),   d = keccak256(everything before)
///
/// Both sessions sign, so it cannot be made by anyone who does not hold both; it says nothing about whose
/// sessions they are, and like a private reveal it is bound to the contact it was made for.
public struct LinkStatement: Equatable {
    public static let prefix = Array("postern-session-link-to/1".utf8)
    public let chatID: String
    public let oldKey: [UInt8]
    public let newKey: [UInt8]
    public let recipient: [UInt8]

    public init(verifying bytes: [UInt8]) throws(ChatError) {
        var r = SessionReader(bytes, what: "session link statement")
        guard r.skip(prefix: Self.prefix) else { throw .malformed("not a session link statement") }
        let chat = try r.text()
        let old = try r.take(65), new = try r.take(65), recipient = try r.take(32)
        let digest = Keccak256.hash(r.consumed)
        guard Secp256k1.recover(digest: digest, signature: try r.take(65)) == old,
              Secp256k1.recover(digest: digest, signature: try r.take(65)) == new else { throw .badSignature }
        try r.end()
        chatID = chat
        oldKey = old
        newKey = new
        self.recipient = recipient
    }
}

/// Which of the chat's session keys are yours: a contact's question and its answer, both sent through
/// the Postern conversation. The contact names one chat it is in and the session keys it has seen there;
/// the answer holds a private reveal for each of those that is ours and that we choose to reveal. Nothing
/// is said about chats the contact did not name (docs/CHAT.md argues this against a Bloom filter of chats).
public struct SessionQuery: Equatable {
    public static let prefix = Array("postern-session-query/1".utf8)
    public let chatID: String
    public let seen: [[UInt8]]

    public init(chatID: String, seen: [[UInt8]]) {
        self.chatID = chatID
        self.seen = seen
    }

    ///  prefix ‖ u16 BE |chat id| ‖ chat id ‖ u16 BE n ‖ n × 65-byte keys
    public var encoded: [UInt8] {
        Self.prefix + SessionWriter.text(chatID) + SessionWriter.u16(seen.count) + seen.flatMap { $0 }
    }

    public init(decoding bytes: [UInt8]) throws(ChatError) {
        var r = SessionReader(bytes, what: "session query")
        guard r.skip(prefix: Self.prefix) else { throw .malformed("not a session query") }
        chatID = try r.text()
        var keys: [[UInt8]] = []
        for _ in 0..<(try r.u16()) { keys.append(try r.take(65)) }
        try r.end()
        seen = keys
    }
}

extension ChatIdentity {
    /// How many rotations of a chat's session a device looks at when recognising its own posts.
    public static let sessionWindow: UInt32 = 16

    /// The session for `chatID` at `rotation`.
    public func session(chat chatID: String, rotation: UInt32) -> ChatSession {
        ChatSession(root: sessionRoot, chatID: chatID, rotation: rotation)
    }

    /// The rotation of ours that signed with `key` in `chatID`, if any (rotations 0 ..< sessionWindow).
    public func ownSession(chat chatID: String, key: [UInt8]) -> UInt32? {
        if sessionKeys[chatID] == nil {
            sessionKeys[chatID] = (0..<Self.sessionWindow).map { session(chat: chatID, rotation: $0).publicKey }
        }
        return sessionKeys[chatID]!.firstIndex(of: key).map { UInt32($0) }
    }

    /// A post signed by the session: a named Status message, so the chat sees one consistent pseudonym.
    public func post(_ text: String, chatID: String, clock: UInt64, timestamp: UInt64, session: ChatSession)
        throws(ChatError) -> (bytes: [UInt8], id: [UInt8]) {
        guard session.chatID == chatID else { throw .malformed("the session belongs to #\(session.chatID)") }
        return try sign(ChatMessage(clock: clock, timestamp: timestamp, text: text, chatID: chatID), with: session.secret)
    }

    /// A post that reveals `session` to the whole chat: field 21 carries the public statement, and the
    /// post is signed by the session (so it reads as the pseudonym saying who it is).
    public func revealPost(session: ChatSession, clock: UInt64, timestamp: UInt64) throws(ChatError) -> (bytes: [UInt8], id: [UInt8]) {
        var message = ChatMessage(clock: clock, timestamp: timestamp, text: "", chatID: session.chatID)
        message.reveal = try revealStatement(session)
        message.text = "this session is " + ChatSession.pseudonym(chatPublic)
        return try sign(message, with: session.secret)
    }

    /// The public statement for `session`.
    public func revealStatement(_ session: ChatSession) throws(ChatError) -> [UInt8] {
        let body = RevealStatement.body(prefix: RevealStatement.publicPrefix, chatID: session.chatID, session: session.publicKey,
                                        second: chatPublic)
        let digest = Keccak256.hash(body)
        guard let bySession = Secp256k1.sign(digest: digest, secret: session.secret),
              let byChat = Secp256k1.sign(digest: digest, secret: chatSecret) else { throw .keyDerivation }
        return body + bySession + byChat
    }

    /// The private statement for `session`, for the contact whose contact key is `recipient` (32 bytes).
    public func privateReveal(_ session: ChatSession, to recipient: [UInt8]) throws(ChatError) -> [UInt8] {
        guard recipient.count == 32 else { throw .malformed("a contact key is 32 bytes") }
        let body = RevealStatement.body(prefix: RevealStatement.privatePrefix, chatID: session.chatID, session: session.publicKey,
                                        second: recipient)
        guard let bySession = Secp256k1.sign(digest: Keccak256.hash(body), secret: session.secret) else { throw .keyDerivation }
        return body + bySession
    }

    /// A link statement from `old` to `new` (same chat), for the contact whose contact key is `recipient`.
    public func linkStatement(from old: ChatSession, to new: ChatSession, for recipient: [UInt8]) throws(ChatError) -> [UInt8] {
        guard old.chatID == new.chatID, old != new else { throw .malformed("a link joins two sessions of one chat") }
        guard recipient.count == 32 else { throw .malformed("a contact key is 32 bytes") }
        let body = RevealStatement.body(prefix: LinkStatement.prefix, chatID: old.chatID, session: old.publicKey,
                                        second: new.publicKey) + recipient
        let digest = Keccak256.hash(body)
        guard let byOld = Secp256k1.sign(digest: digest, secret: old.secret),
              let byNew = Secp256k1.sign(digest: digest, secret: new.secret) else { throw .keyDerivation }
        return body + byOld + byNew
    }

    /// Records a verified link statement addressed to `ownContactKey`: the new session is shown as continuing
    /// the old one, or as its owner's when the old one was revealed to us.
    @discardableResult
    public func learn(link bytes: [UInt8], inChat chatID: String, ownContactKey: [UInt8]) throws(ChatError) -> LinkStatement {
        let link = try LinkStatement(verifying: bytes)
        guard link.chatID == chatID else { throw .malformed("the statement is about #\(link.chatID), not #\(chatID)") }
        guard link.recipient == ownContactKey else { throw .malformed("the statement was made for someone else") }
        revealed[link.newKey] = revealed[link.oldKey] ?? .continues(link.oldKey)
        return link
    }

    /// What a private statement a contact sent (a reveal or a link, told apart by its prefix) taught us.
    public enum Learnt: Equatable {
        case revealed(session: [UInt8])
        case linked(old: [UInt8], new: [UInt8])
    }

    /// Verifies and records a private reveal or link statement from contact `from`, addressed to
    /// `ownContactKey`, about chat `chatID`.
    @discardableResult
    public func learn(privateStatement bytes: [UInt8], inChat chatID: String, ownContactKey: [UInt8], from: String)
        throws(ChatError) -> Learnt {
        if bytes.starts(with: LinkStatement.prefix) {
            let link = try learn(link: bytes, inChat: chatID, ownContactKey: ownContactKey)
            return .linked(old: link.oldKey, new: link.newKey)
        }
        guard bytes.starts(with: RevealStatement.privatePrefix) else { throw .malformed("not a private session statement") }
        return .revealed(session: try learn(reveal: bytes, inChat: chatID, ownContactKey: ownContactKey, from: from).sessionKey)
    }

    /// Answers a contact's query: a private reveal for each seen key that is one of our sessions in that
    /// chat and not in `withhold` (rotations the person keeps to themselves).
    public func answer(_ query: SessionQuery, to recipient: [UInt8], withhold: Set<UInt32> = []) throws(ChatError) -> [[UInt8]] {
        var out: [[UInt8]] = []
        for key in query.seen {
            guard let rotation = ownSession(chat: query.chatID, key: key), !withhold.contains(rotation) else { continue }
            out.append(try privateReveal(session(chat: query.chatID, rotation: rotation), to: recipient))
        }
        return out
    }

    /// Records what a verified statement says, for `classify`: a public one read in `chatID` (carried by
    /// a post signed by `postAuthor`, which must be the session it reveals), or a private one addressed to
    /// `ownContactKey`. A statement that does not verify (`badReveal`), for another chat, made for someone
    /// else, or posted by another key (`tampered`) is refused, and nothing is recorded.
    public func learn(reveal bytes: [UInt8], inChat chatID: String, ownContactKey: [UInt8]? = nil, from contact: String? = nil,
                      postAuthor: [UInt8]? = nil) throws(ChatError) -> RevealStatement {
        let statement: RevealStatement
        do throws(ChatError) { statement = try RevealStatement(verifying: bytes) } catch {
            throw error == .badSignature ? .badReveal : error
        }
        guard statement.chatID == chatID else { throw .malformed("the statement is about #\(statement.chatID), not #\(chatID)") }
        if let author = postAuthor, statement.sessionKey != author { throw .tampered }
        if let recipient = statement.recipient {
            guard let own = ownContactKey, recipient == own else { throw .malformed("the statement was made for someone else") }
            revealed[statement.sessionKey] = .contact(contact ?? "a contact")
        } else {
            revealed[statement.sessionKey] = .chatKey(statement.chatKey!)
        }
        return statement
    }

    func sign(_ message: ChatMessage, with secret: [UInt8]) throws(ChatError) -> (bytes: [UInt8], id: [UInt8]) {
        guard let wrapped = WrappedMessage.sign(message.encoded, secret: secret), let author = wrapped.author else {
            throw .keyDerivation
        }
        return (wrapped.encoded, wrapped.messageID(author: author))
    }
}

/// Who a revealed session belongs to, as this device learnt it.
public enum RevealedOwner: Equatable {
    /// A public statement bound it to this chat key (65 bytes uncompressed).
    case chatKey([UInt8])
    /// A contact told us privately.
    case contact(String)
    /// Nobody said whose it is, but a link statement showed it continues this (older) session.
    case continues([UInt8])
}
