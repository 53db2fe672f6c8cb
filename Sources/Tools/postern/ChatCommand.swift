import PosternChat
import PosternClient
import PosternCrypto
import PosternSystem

/// `postern chat …` and `postern keys derive`.
enum ChatCommand {
    static let usage = """
    usage: postern chat identity new [--identity FILE]
           postern chat identity restore [--identity FILE]      (reads the phrase from standard input)
           postern chat identity protect [--identity FILE]      (encrypts a file an earlier version wrote)
           postern chat post --chat NAME --text TEXT [--anonymous derived|signed|keyless | --session]
                             [--identity FILE] [--out FILE | --config FILE]
           postern chat session new|list|rotate|burn|reveal|learn …   ('postern chat session --help')
           postern chat read [--identity FILE] FILE...
           postern chat read --chat NAME --config FILE [--identity FILE]
           postern keys derive --seed HEX --path PATH [--private]
    The identity file holds the BIP39 seed encrypted under a passphrase (mode 0600; asked for like the
    profile's: --passphrase-file, $POSTERN_PASSPHRASE_FILE, $POSTERN_PASSPHRASE or the terminal); default
    $XDG_DATA_HOME/postern/chat-identity.
    'post' writes the signed message (hex) to --out or standard output, or with --config (a client.toml,
    as 'postern testnet' writes) posts it through the mixnet; 'read' shows each message (from files, or
    the chat's last 20 minutes from the network) as "me (anonymous)", "Anonymous" or its author.
    example: postern chat post --chat lobby --text "hello" --anonymous derived --config client.toml
    """

    static func fail(_ m: String) -> Int32 { CLI.fail(m) }

    static var defaultIdentity: String {
        let base = Process.environment("XDG_DATA_HOME") ?? ((Process.environment("HOME") ?? ".") + "/.local/share")
        return base + "/postern/chat-identity"
    }

    static let keysUsage = """
    usage: postern keys derive --seed HEX --path PATH [--private]
    Derives a BIP32 key from a seed (16–64 bytes of hex) along PATH ("m", then "/N" per level, N' or Nh
    hardened) and prints its compressed public key, or with --private its secret key, in hex.
    example: postern keys derive --seed 000102030405060708090a0b0c0d0e0f --path "m/43'/60'/1581'/0'/0"
    """

    static func keys(_ args: [String]) -> Int32 {
        CLI.helpRequested(args, keysUsage)
        let usage = keysUsage
        guard args.first == "derive",
              let o = CLI.options(Array(args.dropFirst()), ["--seed", "--path"], flags: ["--private"], usage: usage),
              let seedHex = o["--seed"], let path = o["--path"] else { Terminal.error(usage); return 2 }
        guard let seed = Hex.decode(seedHex), seed.count >= 16, seed.count <= 64 else { return CLI.usageError("--seed must be 16–64 bytes of hex") }
        do {
            let key = try ExtendedKey(seed: seed).derive(path)
            Terminal.line(Hex.encode(o["--private"] != nil ? key.secret : key.publicKey))
            return 0
        } catch {
            return fail(error.description)
        }
    }

    static func chat(_ args: [String]) -> Int32 {
        CLI.dispatch(args, group: "chat", usage: usage, [("identity", identity), ("session", session), ("post", post), ("read", read)])
    }

    /// Writes the seed encrypted under a new passphrase (asked twice, or from --passphrase-file …).
    static func save(seed: [UInt8], to path: String) -> Int32 {
        if let slash = path.utf8.lastIndex(of: UInt8(ascii: "/")), slash != path.utf8.startIndex {
            do { try Files.makeDirectories(String(path[..<slash])) } catch { return fail("\(path): \(error.description)") }
        }
        let secret: [UInt8]
        switch ClientContext([:]).passphrase(confirm: true, subject: "chat identity") {
        case .success(let s): secret = s
        case .failure(let e): return fail(e.description)
        }
        if let why = ClientContext.weakness(secret) { Terminal.error("warning: " + why) }
        let file: [UInt8]
        do { file = try IdentityFile.seal(seed: seed, passphrase: secret) } catch { return fail(error.description) }
        do { try Files.writeAtomically(path, file, mode: 0o600) } catch { return fail("\(path): \(error.description)") }
        return 0
    }

    static func identity(_ args: [String]) -> Int32 {
        guard let sub = args.first, let o = CLI.options(Array(args.dropFirst()), ["--identity"], usage: usage) else { Terminal.error(usage); return 2 }
        let path = o["--identity"] ?? defaultIdentity
        if sub == "protect" { return protect(path) }
        if Files.exists(path) { return fail("\(path) already holds an identity; move it away first") }
        let phrase: [String]
        switch sub {
        case "new":
            phrase = BIP39.newPhrase()
        case "restore":
            var input: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 4096)
            while true {
                let n: Int?
                do { n = try withMutableBytes(&chunk) { (b) throws(SystemError) in try TCP.read(.standardInput, b.baseAddress!, b.count) } } catch { break }
                guard let n, n > 0 else { break }
                input += chunk[0..<n]
            }
            phrase = String(decoding: input, as: UTF8.self).split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "\r" }).map(String.init)
        default:
            Terminal.error(usage); return 2
        }
        let seed: [UInt8], identity: ChatIdentity
        do {
            seed = try BIP39.seed(phrase: phrase)
            identity = try ChatIdentity(seed: seed)
        } catch {
            return fail(error.description)
        }
        let status = save(seed: seed, to: path)
        guard status == 0 else { return status }
        if sub == "new" {
            Terminal.line("Your seed phrase (shown once; write it down, it restores this identity on any device):")
            Terminal.line("  " + phrase.joined(separator: " "))
        }
        Terminal.line("chat key \(Hex.encode(identity.chatKeyCompressed))")
        Terminal.line("saved to \(path) (mode 0600, encrypted under its passphrase)")
        return 0
    }

    /// An identity file from before encryption (the seed in hex) encrypted in place.
    static func protect(_ path: String) -> Int32 {
        guard let bytes = try? Files.read(path) else { return fail("no chat identity at \(path)") }
        switch try? IdentityFile.contents(bytes) {
        case .plain(let seed)?:
            let status = save(seed: seed, to: path)
            if status == 0 { Terminal.line("\(path) is encrypted now") }
            return status
        case .sealed?: Terminal.line("\(path) is already encrypted"); return 0
        case nil: return fail("\(path) is not a chat identity file")
        }
    }

    static func load(_ path: String) -> ChatIdentity? {
        guard let bytes = try? Files.read(path) else {
            _ = fail("no chat identity at \(path) (run 'postern chat identity new')")
            return nil
        }
        let seed: [UInt8]
        do {
            switch try IdentityFile.contents(bytes) {
            case .plain(let s):
                Terminal.error("warning: \(path) holds the seed unencrypted (an earlier version wrote it): 'postern chat identity protect' encrypts it")
                seed = s
            case .sealed(let sealed):
                switch ClientContext([:]).passphrase(confirm: false, subject: "the chat identity \(path)") {
                case .success(let secret): seed = try IdentityFile.open(sealed, passphrase: secret)
                case .failure(let e): _ = fail(e.description); return nil
                }
            }
        } catch {
            _ = fail("\(path): \(error.description)")
            return nil
        }
        guard let identity = try? ChatIdentity(seed: seed) else { _ = fail("\(path): not a usable seed"); return nil }
        return identity
    }

    static func post(_ args: [String]) -> Int32 {
        guard let o = CLI.options(args, ["--chat", "--text", "--anonymous", "--identity", "--out", "--config"], flags: ["--session"],
                                  usage: usage),
              let chat = o["--chat"], let text = o["--text"] else { Terminal.error(usage); return 2 }
        if o["--session"] != nil {
            guard o["--anonymous"] == nil else { return CLI.usageError("--session and --anonymous are two different ways to post; choose one") }
            return postUnderSession(chat: chat, text: text, o)
        }
        var mode = PostMode.named
        if let name = o["--anonymous"] {
            guard let m = PostMode(name: name) else { return CLI.usageError("--anonymous must be derived, signed or keyless") }
            mode = m
        }
        guard let identity = load(o["--identity"] ?? defaultIdentity) else { return 1 }
        // Status: timestamp in Unix milliseconds, the Lamport clock at least the timestamp.
        let now = UInt64(Clock.wallNanoseconds() / 1_000_000)
        let post: (bytes: [UInt8], id: [UInt8], syncNote: [UInt8]?)
        do { post = try identity.post(text, chatID: chat, clock: now, timestamp: now, mode: mode) } catch { return fail(error.description) }
        return deliver(post, chat: chat, identity: identity, o, wrote: "; message id \(Hex.encode(post.id))")
    }

    /// A signed post through the mixnet (--config, or client.toml from the global options), to --out, or
    /// as hex on standard output; `wrote` follows "wrote FILE" when it went to --out.
    static func deliver(_ post: (bytes: [UInt8], id: [UInt8], syncNote: [UInt8]?), chat: String, identity: ChatIdentity,
                        _ o: [String: String], wrote: String) -> Int32 {
        if let config = o["--config"] ?? ClientContext.globals["--config"] { return ChatNetwork.post(post, chat: chat, identity: identity, config: config) }
        let line = Hex.encode(post.bytes) + "\n"
        if let out = o["--out"] {
            do { try Files.writeAtomically(out, Array(line.utf8), mode: 0o644) } catch { return fail("\(out): \(error.description)") }
            Terminal.line("wrote \(out)" + wrote)
        } else {
            Terminal.out(line)
        }
        if let note = post.syncNote { Terminal.error("device-sync note (deposit on your sync chain): \(Hex.encode(note))") }
        return 0
    }

    static func postUnderSession(chat: String, text: String, _ o: [String: String]) -> Int32 {
        let path = o["--identity"] ?? defaultIdentity
        guard let identity = load(path), var book = loadBook(path, identity) else { return 1 }
        let rotation = book.current(chat)
        guard saveBook(book, path, identity) == 0 else { return 1 }
        let now = UInt64(Clock.wallNanoseconds() / 1_000_000)
        let post: (bytes: [UInt8], id: [UInt8])
        do { post = try identity.post(text, chatID: chat, clock: now, timestamp: now, session: identity.session(chat: chat, rotation: rotation)) }
        catch { return fail(error.description) }
        return deliver((post.bytes, post.id, nil), chat: chat, identity: identity, o, wrote: "; message id \(Hex.encode(post.id))")
    }

    static func read(_ args: [String]) -> Int32 {
        var rest = args[...]
        var path = defaultIdentity
        var files: [String] = []
        var chat: String?, config = ClientContext.globals["--config"]
        while let a = rest.popFirst() {
            switch a {
            case "--identity", "--chat", "--config":
                guard let v = rest.popFirst() else { Terminal.error(usage); return 2 }
                if a == "--identity" { path = v } else if a == "--chat" { chat = v } else { config = v }
            default:
                files.append(a)
            }
        }
        guard (chat != nil && config != nil && files.isEmpty) || (chat == nil && !files.isEmpty) else {
            Terminal.error(usage); return 2
        }
        guard let identity = load(path) else { return 1 }
        loadBook(path, identity)?.teach(identity)   // sessions contacts revealed to us privately
        var sources: [(String, [[UInt8]])] = []
        if let chat, let config, files.isEmpty {
            guard let posts = ChatNetwork.read(chat: chat, identity: identity, config: config) else { return 1 }
            if posts.isEmpty { Terminal.line("no posts in #\(chat) in the last 20 minutes") }
            sources.append(("#" + chat, posts))
        }
        var bad = 0
        var noticed: [(String, UInt32)] = []
        defer {
            // Posts of ours under a later session (from another device): move this device on to it.
            if !noticed.isEmpty, var book = loadBook(path, identity) {
                for (c, rotation) in noticed { book.notice(c, rotation: rotation) }
                _ = saveBook(book, path, identity)
            }
        }
        for file in files {
            guard let bytes = try? Files.read(file) else { bad += 1; Terminal.line("\(file): unreadable"); continue }
            var messages: [[UInt8]] = []
            for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") {
                guard let message = Hex.decode(String(line).trimmedLine) else { bad += 1; Terminal.line("\(file): not hex"); continue }
                messages.append(message)
            }
            sources.append((file, messages))
        }
        // A reveal statement applies to every post of its session, also the ones listed before it: learn
        // them all first.
        for (_, messages) in sources { for message in messages { _ = try? identity.classify(message) } }
        for (file, messages) in sources {
            for message in messages {
                do {
                    let r = try identity.classify(message)
                    if case .mineSession(let rotation) = r.authorship { noticed.append((r.message.chatID, rotation)) }
                    let who = r.authorship.shown()
                    Terminal.line("[#\(r.message.chatID)] \(who): \(r.message.text)")
                } catch {
                    bad += 1
                    Terminal.line("\(file): rejected: \(error.description)")
                }
            }
        }
        return bad == 0 ? 0 : 1
    }
}
