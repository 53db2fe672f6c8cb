import PosternChat
import PosternClient
import PosternRatchet
import PosternCrypto
import PosternSystem

/// `postern chat session …`: session identities per chat (docs/CHAT.md, "Sessions").
extension ChatCommand {
    static let sessionUsage = """
    usage: postern chat session new|rotate|burn --chat NAME [--identity FILE]
           postern [--profile DIR] chat session rotate --chat NAME --link-to CONTACT[,CONTACT…] [--identity FILE]
           postern chat session list [--chat NAME] [--identity FILE]
           postern chat session reveal --chat NAME [--out FILE | --config FILE] [--identity FILE]
           postern [--profile DIR] chat session reveal --chat NAME --to CONTACT [--identity FILE]
           postern [--profile DIR] chat session learn --chat NAME --from CONTACT [--identity FILE]
           postern [--profile DIR] --config FILE chat session ask --chat NAME --to CONTACT [--identity FILE]
           postern [--profile DIR] chat session answer --from CONTACT [--withhold N,N…] [--identity FILE]
           postern chat session reveal --chat NAME --to-key HEX [--out FILE] [--identity FILE]
           postern chat session learn --chat NAME --contact-key HEX [--from NAME] FILE [--identity FILE]
    A session is the pseudonym you post under in one chat ('chat post --session'); it is derived from your
    seed phrase, so every device restored from the phrase recognises its posts, and nobody else can link
    it to you or to your other sessions. 'new' shows the chat's current session, 'rotate' starts the next
    one (with --link-to, telling those contacts, and nobody else, that the new one continues the old one,
    without saying whose either is), 'burn' starts the next one and never uses or reveals the old one
    again. 'reveal' posts a signed statement binding the session to your chat key for the whole chat, or
    with --to CONTACT sends a statement to that contact only, as a message in your Postern conversation: it
    names their contact key,
    so only they can use it, and it carries no signature of your chat key, so it proves nothing to anyone
    they show it to. The contact runs 'postern inbox', then 'chat session learn --from YOU', which checks
    every such message from you and remembers the sessions on that device. (--to-key and --contact-key do
    the same with files and raw 32-byte contact keys.)
    'ask' sends a contact the session keys seen in one chat you are in (read from the network), asking
    which are theirs; 'answer' (run by them after 'postern inbox') sends back a private reveal for each of
    those that is theirs, except burned rotations and those listed in --withhold; then 'learn --from'.
    The sessions you use are remembered in IDENTITY.sessions, sealed under a key from your seed.
    example: postern chat session new --chat lobby && postern chat post --chat lobby --text hi --session
    """

    static func session(_ args: [String]) -> Int32 {
        CLI.helpRequested(args, sessionUsage)
        guard let sub = args.first else { Terminal.error(sessionUsage); return 2 }
        var rest = Array(args.dropFirst())
        var files: [String] = []
        if sub == "learn" {
            // The statement file is the one positional argument.
            var options: [String] = []
            var i = 0
            while i < rest.count {
                if rest[i].hasPrefix("--"), i + 1 < rest.count { options += [rest[i], rest[i + 1]]; i += 2 } else { files.append(rest[i]); i += 1 }
            }
            rest = options
        }
        guard let o = CLI.options(rest, ["--chat", "--identity", "--out", "--config", "--to-key", "--contact-key", "--from", "--to",
                                         "--withhold", "--link-to"],
                                  usage: sessionUsage) else { Terminal.error(sessionUsage); return 2 }
        let path = o["--identity"] ?? defaultIdentity
        let chat = o["--chat"]
        guard ["new", "rotate", "burn", "list", "reveal", "learn", "ask", "answer"].contains(sub) else {
            return CLI.usageError("unknown 'chat session' command '\(sub)'")
        }
        guard chat != nil || sub == "list" || sub == "answer" else { return CLI.usageError("'chat session \(sub)' needs --chat NAME") }
        guard let identity = load(path) else { return 1 }
        guard var book = loadBook(path, identity) else { return 1 }
        switch sub {
        case "new", "rotate", "burn":
            let chat = chat!
            if o["--link-to"] != nil && sub != "rotate" { return CLI.usageError("--link-to goes with 'rotate' (a burned session is never linked)") }
            let before = book.current(chat)
            if sub != "new" {
                do { try book.rotate(chat, burn: sub == "burn") } catch { return fail(error.description) }
            }
            let rotation = book.current(chat)
            guard saveBook(book, path, identity) == 0 else { return 1 }
            let s = identity.session(chat: chat, rotation: rotation)
            Terminal.line("#\(chat): session \(rotation), shown to the chat as \(s.pseudonym)")
            if sub == "burn" { Terminal.line("session \(rotation - 1) is burned: it is never used or revealed again") }
            if let names = o["--link-to"] {
                return link(from: identity.session(chat: chat, rotation: before), to: s, names: names.split(separator: ",").map(String.init), identity)
            }
            return 0
        case "list":
            let chats = chat.map { [$0] } ?? book.chats.keys.sorted()
            if chats.isEmpty { Terminal.line("no sessions yet ('postern chat session new --chat NAME')") }
            for c in chats {
                let entry = book.chats[c] ?? SessionBook.Entry()
                for r in 0...entry.current {
                    let state = r == entry.current ? "current" : entry.burned.contains(r) ? "burned" : "retired"
                    Terminal.line("#\(c)  session \(r)  \(identity.session(chat: c, rotation: r).pseudonym)  \(state)")
                }
            }
            return 0
        case "reveal":
            return reveal(chat: chat!, identity: identity, book: &book, o)
        case "ask":
            return ask(chat: chat!, identity: identity, o)
        case "answer":
            return answer(identity: identity, book: book, o)
        default:
            return learn(chat: chat!, identity: identity, book: &book, path: path, files: files, o)
        }
    }

    static func reveal(chat: String, identity: ChatIdentity, book: inout SessionBook, _ o: [String: String]) -> Int32 {
        let rotation = book.current(chat)
        let s = identity.session(chat: chat, rotation: rotation)
        if let name = o["--to"] {
            // Through the Postern conversation with NAME, bound to their contact key.
            guard let (contact, _) = contact(name) else { return 1 }
            let statement: [UInt8]
            do { statement = try identity.privateReveal(s, to: contact.theirs.publicKey.bytes) } catch { return fail(error.description) }
            Terminal.line("revealing session \(rotation) of #\(chat) (\(s.pseudonym)) to \(name) only")
            return sendAll([revealMessagePrefix + Hex.encode(statement)], to: name)
        }
        if let keyHex = o["--to-key"] {
            guard let key = Hex.decode(keyHex), key.count == 32 else { return CLI.usageError("--to-key must be a 32-byte contact key in hex") }
            let statement: [UInt8]
            do { statement = try identity.privateReveal(s, to: key) } catch { return fail(error.description) }
            let line = revealMessagePrefix + Hex.encode(statement) + "\n"
            guard let out = o["--out"] else { Terminal.out(line); return 0 }
            do { try Files.writeAtomically(out, Array(line.utf8), mode: 0o600) } catch { return fail("\(out): \(error.description)") }
            Terminal.line("wrote \(out): session \(rotation) of #\(chat) (\(s.pseudonym)), for that contact only")
            return 0
        }
        let now = UInt64(Clock.wallNanoseconds() / 1_000_000)
        let post: (bytes: [UInt8], id: [UInt8])
        do { post = try identity.revealPost(session: s, clock: now, timestamp: now) } catch { return fail(error.description) }
        return deliver((post.bytes, post.id, nil), chat: chat, identity: identity, o,
                       wrote: ": reveals session \(rotation) of #\(chat) (\(s.pseudonym)) as \(ChatSession.pseudonym(identity.chatPublic))")
    }

    /// Messages between contacts that carry session statements: PREFIX ‖ hex.
    static let revealMessagePrefix = "postern-session-reveal "
    static let linkMessagePrefix = "postern-session-link "
    static let queryMessagePrefix = "postern-session-query "

    /// The bytes of a message "PREFIX HEX", if `text` is one.
    static func payload(_ text: String, _ prefix: String) -> [UInt8]? {
        guard text.hasPrefix(prefix) else { return nil }
        return Hex.decode(String(text.dropFirst(prefix.count)).trimmedLine)
    }

    /// Contact `name` of the profile, with the profile's inbox. The profile is closed again before
    /// returning: sending (`MessageCommand.send`) opens it itself.
    static func contact(_ name: String) -> (contact: Contact, inbox: [InboxEntry])? {
        guard let profile = ClientContext([:]).openProfile() else { return nil }
        defer { profile.close() }
        do { return (try profile.contact(name), try profile.inbox()) } catch { _ = fail(error.description); return nil }
    }

    /// Sends each text to `name` through the conversation, stopping at the first that is not delivered.
    static func sendAll(_ texts: [String], to name: String) -> Int32 {
        for text in texts {
            let status = MessageCommand.send([name, text])
            guard status == 0 else { return status }
        }
        return 0
    }

    /// Sends each contact a link statement from `old` to `new`, through its conversation.
    static func link(from old: ChatSession, to new: ChatSession, names: [String], _ identity: ChatIdentity) -> Int32 {
        var messages: [(String, String)] = []
        for name in names {
            guard let (contact, _) = contact(name) else { return 1 }
            let statement: [UInt8]
            do { statement = try identity.linkStatement(from: old, to: new, for: contact.theirs.publicKey.bytes) }
            catch { return fail(error.description) }
            messages.append((name, linkMessagePrefix + Hex.encode(statement)))
        }
        for (name, text) in messages {
            Terminal.line("telling \(name) that \(new.pseudonym) continues \(old.pseudonym)")
            let status = sendAll([text], to: name)
            guard status == 0 else { return status }
        }
        return 0
    }

    /// Sends `name` the session keys seen in the chat's last 20 minutes that are neither ours nor known.
    static func ask(chat: String, identity: ChatIdentity, _ o: [String: String]) -> Int32 {
        guard let name = o["--to"] else { return CLI.usageError("'chat session ask' needs --to CONTACT") }
        guard let config = o["--config"] ?? ClientContext.globals["--config"] else { return CLI.usageError("'chat session ask' needs --config FILE") }
        guard let posts = ChatNetwork.read(chat: chat, identity: identity, config: config) else { return 1 }
        // Not about sessions already known: those revealed to us privately or (anywhere in these posts) publicly.
        loadBook(o["--identity"] ?? defaultIdentity, identity)?.teach(identity)
        for post in posts { _ = try? identity.classify(post) }
        var seen: [[UInt8]] = []
        for post in posts {
            if case .named(let author)? = try? identity.classify(post).authorship, !seen.contains(author), seen.count < 256 { seen.append(author) }
        }
        guard !seen.isEmpty else { return fail("no unknown session keys in #\(chat) in the last 20 minutes: nothing to ask about") }
        Terminal.line("asking \(name) which of \(seen.count) session\(seen.count == 1 ? "" : "s") in #\(chat) are theirs")
        return sendAll([queryMessagePrefix + Hex.encode(SessionQuery(chatID: chat, seen: seen).encoded)], to: name)
    }

    /// Answers every query from `name` in the inbox with private reveals.
    static func answer(identity: ChatIdentity, book: SessionBook, _ o: [String: String]) -> Int32 {
        guard let name = o["--from"] else { return CLI.usageError("'chat session answer' needs --from CONTACT") }
        var withhold: Set<UInt32> = []
        for part in (o["--withhold"] ?? "").split(separator: ",") {
            guard let n = UInt32(part), n < ChatIdentity.sessionWindow else { return CLI.usageError("--withhold takes rotations 0…\(ChatIdentity.sessionWindow - 1)") }
            withhold.insert(n)
        }
        guard let (contact, inbox) = contact(name) else { return 1 }
        var reveals: [String] = []
        for entry in inbox where entry.contact == name {
            let text = String(decoding: entry.text, as: UTF8.self)
            guard text.hasPrefix(queryMessagePrefix) else { continue }
            guard let raw = payload(text, queryMessagePrefix), let query = try? SessionQuery(decoding: raw) else {
                Terminal.error("postern: a malformed query from \(name) skipped")
                continue
            }
            let burned = book.chats[query.chatID]?.burned ?? []
            do {
                let answers = try identity.answer(query, to: contact.theirs.publicKey.bytes, withhold: withhold.union(burned))
                reveals += answers.map { revealMessagePrefix + Hex.encode($0) }
            } catch { return fail(error.description) }
        }
        if reveals.isEmpty { Terminal.line("nothing to reveal to \(name): no query from them names a session of yours"); return 0 }
        let status = sendAll(reveals, to: name)
        guard status == 0 else { return status }
        Terminal.line("revealed \(reveals.count) session\(reveals.count == 1 ? "" : "s") to \(name)")
        return 0
    }

    static func learn(chat: String, identity: ChatIdentity, book: inout SessionBook, path: String, files: [String],
                      _ o: [String: String]) -> Int32 {
        if files.isEmpty, o["--contact-key"] == nil, let name = o["--from"] {
            return learnFromInbox(chat: chat, from: name, identity: identity, book: &book, path: path)
        }
        guard files.count == 1, let keyHex = o["--contact-key"] else { return CLI.usageError("'chat session learn' needs --contact-key HEX and one FILE") }
        guard let key = Hex.decode(keyHex), key.count == 32 else { return CLI.usageError("--contact-key must be 32 bytes in hex") }
        guard let bytes = try? Files.read(files[0]) else { return fail("cannot read \(files[0])") }
        // "postern-session-reveal HEX" as 'reveal --to-key' writes it (and as it arrives in a message), or bare hex.
        let text = (String(decoding: bytes, as: UTF8.self).split(separator: " ").last.map(String.init) ?? "").trimmedLine
        guard let statement = Hex.decode(text) else { return fail("\(files[0]): not a session statement") }
        let from = o["--from"] ?? "the contact who sent it"
        do {
            let learnt = try identity.learn(privateStatement: statement, inChat: chat, ownContactKey: key, from: from)
            book.keep(SessionBook.Received(chat: chat, from: from, ownContactKey: key, statement: statement))
            guard saveBook(book, path, identity) == 0 else { return 1 }
            Terminal.line(verified(learnt, chat: chat, from: from))
            return 0
        } catch {
            return fail("\(files[0]): \(error.description)")
        }
    }

    static func verified(_ learnt: ChatIdentity.Learnt, chat: String, from: String) -> String {
        switch learnt {
        case .revealed(let session): "verified: \(ChatSession.pseudonym(session)) in #\(chat) is \(from)"
        case .linked(let old, let new): "verified: \(ChatSession.pseudonym(new)) in #\(chat) continues \(ChatSession.pseudonym(old))"
        }
    }

    /// Checks every reveal and link message about `chat` from contact `name` in the profile's inbox
    /// (fetched by 'postern inbox').
    static func learnFromInbox(chat: String, from name: String, identity: ChatIdentity, book: inout SessionBook, path: String) -> Int32 {
        guard let (contact, inbox) = contact(name) else { return 1 }
        let own = contact.mine.publicKey.bytes
        var learnt = 0, refused = 0
        for entry in inbox where entry.contact == name {
            let text = String(decoding: entry.text, as: UTF8.self)
            guard let statement = payload(text, revealMessagePrefix) ?? payload(text, linkMessagePrefix),
                  RevealStatement.chatID(of: statement) == chat else { continue }
            do {
                let what = try identity.learn(privateStatement: statement, inChat: chat, ownContactKey: own, from: name)
                book.keep(SessionBook.Received(chat: chat, from: name, ownContactKey: own, statement: statement))
                Terminal.line(verified(what, chat: chat, from: name))
                learnt += 1
            } catch {
                refused += 1
                Terminal.error("postern: a session statement from \(name) refused: \(error.description)")
            }
        }
        guard saveBook(book, path, identity) == 0 else { return 1 }
        if learnt == 0 && refused == 0 { Terminal.line("no session reveals from \(name) for #\(chat) in your inbox (run 'postern inbox' first)") }
        return refused == 0 ? 0 : 1
    }

    static func bookPath(_ identityPath: String) -> String { identityPath + ".sessions" }

    static func loadBook(_ identityPath: String, _ identity: ChatIdentity) -> SessionBook? {
        let path = bookPath(identityPath)
        guard Files.exists(path) else { return SessionBook() }
        guard let bytes = try? Files.read(path) else { _ = fail("cannot read \(path)"); return nil }
        do { return try SessionBook(file: bytes, for: identity) } catch { _ = fail("\(path): \(error.description)"); return nil }
    }

    static func saveBook(_ book: SessionBook, _ identityPath: String, _ identity: ChatIdentity) -> Int32 {
        let path = bookPath(identityPath)
        do { try Files.writeAtomically(path, book.sealed(for: identity), mode: 0o600) } catch { return fail("\(path): \(error.description)") }
        return 0
    }
}
