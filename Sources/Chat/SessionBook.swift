import PosternCrypto

/// What one device remembers about its sessions: per chat, the rotation it posts under and the rotations
/// it burned (never to be used or revealed again). Everything else is derived from the seed, so a device
/// restored from the phrase recognises every session without this book; it only starts at rotation 0 and
/// moves on when `notice` sees a later rotation of its own in the chat.
///
/// Stored next to the identity file, sealed under a key derived from the chat secret (the file says
/// which chats the person is in, so it is never written in the clear):
///
///     file    = "postern-chat-sessions/1 " ‖ hex(nonce (24) ‖ XChaCha20-Poly1305(k, nonce, book, ad = that prefix))
///     k       = HKDF-SHA256(salt "postern/chat-sessions/v1", ikm chat secret, info "book", 32)
///     book    = u16 BE n ‖ n × (u16 BE |chat| ‖ chat ‖ u32 BE current ‖ u16 BE m ‖ m × u32 BE burned)
///               ‖ u16 BE r ‖ r × (u16 BE |chat| ‖ chat ‖ u16 BE |from| ‖ from ‖ own contact key (32)
///                                ‖ u16 BE |statement| ‖ private reveal statement)
public struct SessionBook: Equatable {
    public struct Entry: Equatable {
        public var current: UInt32 = 0
        public var burned: Set<UInt32> = []
        public init(current: UInt32 = 0, burned: Set<UInt32> = []) {
            self.current = current
            self.burned = burned
        }
    }

    public private(set) var chats: [String: Entry] = [:]

    /// A private reveal (or link) statement a contact sent us, kept so every read shows their session as
    /// theirs. Kept in the order received, so a link learnt after a reveal inherits its owner.
    public struct Received: Equatable {
        public var chat: String
        public var from: String
        public var ownContactKey: [UInt8]
        public var statement: [UInt8]
        public init(chat: String, from: String, ownContactKey: [UInt8], statement: [UInt8]) {
            self.chat = chat; self.from = from; self.ownContactKey = ownContactKey; self.statement = statement
        }
    }
    public private(set) var received: [Received] = []

    public mutating func keep(_ r: Received) {
        if !received.contains(r) { received.append(r) }
    }

    /// Teaches `identity` every kept statement (each was verified when kept; one that no longer verifies is skipped).
    public func teach(_ identity: ChatIdentity) {
        for r in received {
            _ = try? identity.learn(privateStatement: r.statement, inChat: r.chat, ownContactKey: r.ownContactKey, from: r.from)
        }
    }
    static let magic = "postern-chat-sessions/1 "

    public init() {}

    /// The session this device posts under in `chat` (starting one if there is none).
    public mutating func current(_ chat: String) -> UInt32 {
        if chats[chat] == nil { chats[chat] = Entry() }
        return chats[chat]!.current
    }

    /// Moves `chat` to a new session; `burn` also marks the old one burned.
    @discardableResult
    public mutating func rotate(_ chat: String, burn: Bool) throws(ChatError) -> UInt32 {
        var entry = chats[chat] ?? Entry()
        guard entry.current + 1 < ChatIdentity.sessionWindow else {
            throw .malformed("#\(chat) has used all \(ChatIdentity.sessionWindow) session rotations")
        }
        if burn { entry.burned.insert(entry.current) }
        entry.current += 1
        chats[chat] = entry
        return entry.current
    }

    /// A post of ours under `rotation` was seen in `chat` (made on another device): never post under an
    /// older rotation than that.
    public mutating func notice(_ chat: String, rotation: UInt32) {
        var entry = chats[chat] ?? Entry()
        if rotation > entry.current { entry.current = rotation }
        chats[chat] = entry
    }

    public var encoded: [UInt8] {
        var out = SessionWriter.u16(chats.count)
        for chat in chats.keys.sorted() {
            let e = chats[chat]!
            out += SessionWriter.text(chat) + SessionWriter.u32(e.current) + SessionWriter.u16(e.burned.count)
            for b in e.burned.sorted() { out += SessionWriter.u32(b) }
        }
        out += SessionWriter.u16(received.count)
        for r in received {
            out += SessionWriter.text(r.chat) + SessionWriter.text(r.from) + r.ownContactKey
                + SessionWriter.u16(r.statement.count) + r.statement
        }
        return out
    }

    public init(decoding bytes: [UInt8]) throws(ChatError) {
        var r = SessionReader(bytes, what: "session book")
        for _ in 0..<(try r.u16()) {
            let chat = try r.text()
            var entry = Entry()
            entry.current = try r.u32()
            for _ in 0..<(try r.u16()) { entry.burned.insert(try r.u32()) }
            guard entry.current < ChatIdentity.sessionWindow, entry.burned.allSatisfy({ $0 < ChatIdentity.sessionWindow }) else {
                throw .malformed("session book names a rotation past \(ChatIdentity.sessionWindow)")
            }
            chats[chat] = entry
        }
        for _ in 0..<(try r.u16()) {
            let chat = try r.text(), from = try r.text(), key = try r.take(32)
            received.append(Received(chat: chat, from: from, ownContactKey: key, statement: try r.take(try r.u16())))
        }
        try r.end()
    }

    /// The file contents for `identity`.
    public func sealed(for identity: ChatIdentity) -> [UInt8] {
        let nonce = Random.bytes(24)
        let body = XChaChaPoly.seal(key: identity.bookKey, nonce: nonce, ad: Array(Self.magic.utf8), encoded)
        return Array((Self.magic + Hex.encode(nonce + body) + "\n").utf8)
    }

    public init(file: [UInt8], for identity: ChatIdentity) throws(ChatError) {
        let text = String(decoding: file, as: UTF8.self)
        guard text.hasPrefix(Self.magic), let raw = Hex.decode(String(text.dropFirst(Self.magic.count)).trimmedNewline),
              raw.count >= 24 + 16 else { throw .malformed("not a session book") }
        guard let book = try? XChaChaPoly.open(key: identity.bookKey, nonce: Array(raw[0..<24]), ad: Array(Self.magic.utf8),
                                               Array(raw[24...])) else {
            throw .malformed("the session book does not open with this identity")
        }
        try self.init(decoding: book)
    }

}

extension ChatIdentity {
    var bookKey: [UInt8] {
        try! HKDF.derive(salt: Array("postern/chat-sessions/v1".utf8), ikm: chatSecret, info: Array("book".utf8), count: 32)
    }
}

extension String {
    var trimmedNewline: String {
        var s = Substring(self)
        while let last = s.unicodeScalars.last, last == "\n" || last == "\r" || last == " " { s = s.dropLast() }
        return String(s)
    }
}
