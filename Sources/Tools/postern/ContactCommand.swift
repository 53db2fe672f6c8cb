import PosternClient
import PosternCrypto
import PosternNetwork
import PosternNode
import PosternRatchet
import PosternSystem

/// `postern profile new|show|set` and `postern contact new|add|list|remove`.
enum ContactCommand {
    static let profileUsage = """
    usage: postern [--profile DIR] [--config FILE] profile new [--gateway N|ID]   (default: client.toml's gateway)
           postern [--profile DIR] profile show
           postern [--profile DIR] profile set --retention-days N
           postern [--profile DIR] profile passphrase [--new-passphrase-file FILE]
           postern [--profile DIR] profile export FILE
           postern [--profile DIR] profile import FILE
    'passphrase' re-encrypts the profile under a new passphrase (asked twice on the terminal, or read from
    --new-passphrase-file). 'export' writes every record to FILE, encrypted under the profile's passphrase;
    'import' makes a profile from such a file at --profile DIR (which must not hold one), under the same
    passphrase: contacts and conversations go on from there. Keep only one copy in use: two profiles
    sending from the same ratchet state would repeat message keys the contact then refuses.
    example: postern --profile ~/new-phone profile import backup.postern
    """
    static let contactUsage = """
    usage: postern [--profile DIR] contact new [NAME] [--pbm FILE] [--no-qr]
           postern [--profile DIR] contact add NAME [BUNDLE | --file FILE | -]
           postern [--profile DIR] contact list
           postern [--profile DIR] contact remove NAME
    new shows my code for NAME (text and a QR code; --pbm FILE writes it as an image); add takes theirs
    (as an argument, from --file, or pasted on standard input); remove deletes everything of NAME.
    example: postern contact add alice postern:ab12…
    """

    static func profile(_ args: [String]) -> Int32 {
        CLI.dispatch(args, group: "profile", usage: profileUsage, [("new", newProfile), ("show", showProfile), ("set", setProfile),
                                                                    ("passphrase", changePassphrase), ("export", exportProfile),
                                                                    ("import", importProfile)])
    }

    static func contact(_ args: [String]) -> Int32 {
        CLI.dispatch(args, group: "contact", usage: contactUsage, [("new", newContact), ("add", addContact),
                                                                  ("list", listContacts), ("remove", removeContact)])
    }

    // MARK: profile

    static func newProfile(_ args: [String]) -> Int32 {
        guard let (o, words) = CLI.parse(args, ["--gateway"], usage: profileUsage), words.isEmpty else { Terminal.error(profileUsage); return 2 }
        let ctx = ClientContext(o)
        if Files.exists(ctx.profileDirectory + "/profile.salt") { return CLI.fail("\(ctx.profileDirectory) already holds a profile") }
        guard let config = ctx.config() else { return 1 }
        let loop: EventLoop
        do { loop = try EventLoop() } catch { return CLI.fail("event loop: \(error.description)") }
        guard let network = ctx.network(config, profile: nil, loop: loop) else { return 1 }
        let gateways = network.topology.gateways
        guard !gateways.isEmpty else { return CLI.fail("the network has no gateways this epoch") }
        let gateway: NodeInfo
        if let choice = o["--gateway"] {
            if let n = Int(choice), n >= 1, n <= gateways.count {
                gateway = gateways[n - 1]
            } else if let g = gateways.first(where: { $0.id.hex.hasPrefix(choice.lowercased()) && choice.count >= 8 }) {
                gateway = g
            } else {
                return CLI.fail("no gateway '\(choice)': give 1…\(gateways.count) or the start (8+ hex digits) of a gateway id")
            }
        } else {
            // The gateway named in client.toml (the one you chose or run), else one at random.
            gateway = gateways.first { $0.linkKey == config.gateway.linkKey } ?? gateways[Int(Random.uniform(UInt32(gateways.count)))]
        }
        let secret: [UInt8]
        switch ctx.passphrase(confirm: true) {
        case .success(let s): secret = s
        case .failure(let e): return CLI.fail(e.description)
        }
        Terminal.progress("deriving the profile key (Argon2id)…")
        do {
            let p = try Profile.create(directory: ctx.profileDirectory, passphrase: secret)
            try p.save(ProfileSettings(gateway: gateway.id, createdAt: Clock.wallSeconds()))
            try p.save(network: network)
        } catch {
            Terminal.clearProgress()
            return CLI.fail(error.description)
        }
        Terminal.clearProgress()
        Terminal.line("created profile \(ctx.profileDirectory)")
        Terminal.line("your mailbox is at gateway \(gateway.id.hex.prefix(16))… (\(gateway.clientAddress ?? "?"))")
        Terminal.line("next: 'postern \(ctx.givenOptions)contact new NAME' shows a contact code for someone you meet")
        return 0
    }

    static func showProfile(_ args: [String]) -> Int32 {
        guard let (o, words) = CLI.parse(args, [], usage: profileUsage), words.isEmpty else { Terminal.error(profileUsage); return 2 }
        let ctx = ClientContext(o)
        guard let p = ctx.openProfile() else { return 1 }
        do {
            let s = try p.settings()
            Terminal.line("profile     \(p.directory)")
            Terminal.line("created     \(Format.utc(s.createdAt)) UTC")
            Terminal.line("gateway     \(s.gateway.hex)")
            Terminal.line("retention   \(s.retentionDays == 0 ? "received messages deleted once shown" : "\(s.retentionDays) days")")
            Terminal.line("contacts    \(try p.contacts().count) (+\(try p.pending().count) bundles not yet answered)")
            Terminal.line("outbox      \(try p.outbox().count) waiting for delivery")
            let inbox = try p.inbox()
            Terminal.line("inbox       \(inbox.count) kept, \(inbox.filter { !$0.seen }.count) unread")
        } catch { return CLI.fail(error.description) }
        return 0
    }

    static func changePassphrase(_ args: [String]) -> Int32 {
        guard let (o, words) = CLI.parse(args, ["--new-passphrase-file"], usage: profileUsage), words.isEmpty else {
            Terminal.error(profileUsage); return 2
        }
        let ctx = ClientContext(o)
        guard let p = ctx.openProfile() else { return 1 }
        var secret: [UInt8]
        if let file = o["--new-passphrase-file"] {
            switch ClientContext.readPassphraseFile(file) {
            case .success(let s): secret = s
            case .failure(let e): return CLI.fail("new " + e.description)
            }
        } else {
            guard case .success(let s) = Terminal.readSecret(prompt: "New passphrase: ") else {
                return CLI.fail("no terminal to ask the new passphrase on: use --new-passphrase-file FILE")
            }
            guard case .success(let again) = Terminal.readSecret(prompt: "Repeat the new passphrase: "), again == s else {
                return CLI.fail("the passphrases differ; nothing was changed")
            }
            secret = s
        }
        guard !secret.isEmpty else { return CLI.fail("the new passphrase is empty; nothing was changed") }
        if let why = ClientContext.weakness(secret) { Terminal.error("warning: " + why) }
        Terminal.progress("re-encrypting the profile (Argon2id)…")
        defer { Terminal.clearProgress() }
        do { try p.changePassphrase(to: secret) } catch { return CLI.fail(error.description) }
        Terminal.clearProgress()
        Terminal.line("passphrase changed for \(ctx.profileDirectory)")
        return 0
    }

    static func exportProfile(_ args: [String]) -> Int32 {
        guard let (o, words) = CLI.parse(args, [], usage: profileUsage), words.count == 1 else { Terminal.error(profileUsage); return 2 }
        let path = words[0]
        if Files.exists(path) { return CLI.fail("\(path) exists; nothing was written") }
        guard let (p, secret) = ClientContext(o).openProfileKeepingPassphrase() else { return 1 }
        let file: [UInt8], count: Int
        do { (file, count) = (try p.exported(passphrase: secret), try p.allRecords().count) } catch { return CLI.fail(error.description) }
        do { try Files.writeAtomically(path, file, mode: 0o600) } catch { return CLI.fail("\(path): \(error.description)") }
        Terminal.line("exported \(count) records to \(path) (encrypted under the profile's passphrase)")
        return 0
    }

    static func importProfile(_ args: [String]) -> Int32 {
        guard let (o, words) = CLI.parse(args, [], usage: profileUsage), words.count == 1 else { Terminal.error(profileUsage); return 2 }
        let ctx = ClientContext(o)
        let file: [UInt8]
        do { file = try Files.read(words[0], limit: 64 << 20) } catch { return CLI.fail("\(words[0]): \(error.description)") }
        let secret: [UInt8]
        switch ctx.passphrase(confirm: false) {
        case .success(let s): secret = s
        case .failure(let e): return CLI.fail(e.description)
        }
        Terminal.progress("importing (Argon2id)…")
        defer { Terminal.clearProgress() }
        do { _ = try Profile.importing(file, passphrase: secret, directory: ctx.profileDirectory) } catch { return CLI.fail(error.description) }
        Terminal.clearProgress()
        Terminal.line("imported into \(ctx.profileDirectory); use only this copy from now on")
        return 0
    }

    static func setProfile(_ args: [String]) -> Int32 {
        guard let (o, words) = CLI.parse(args, ["--retention-days"], usage: profileUsage), words.isEmpty,
              let text = o["--retention-days"] else { Terminal.error(profileUsage); return 2 }
        guard let days = Int(text), days >= 0, days <= 36_500 else { return CLI.usageError("--retention-days must be 0…36500") }
        let ctx = ClientContext(o)
        guard let p = ctx.openProfile() else { return 1 }
        do {
            var s = try p.settings()
            s.retentionDays = days
            try p.save(s)
            let dropped = try p.applyRetention(now: Clock.wallSeconds())
            Terminal.line("retention set to \(days == 0 ? "delete received messages once shown" : "\(days) days")"
                          + (dropped.isEmpty ? "" : "; \(dropped.count) undelivered messages given up"))
        } catch { return CLI.fail(error.description) }
        return 0
    }

    // MARK: contact

    /// Prints a bundle as text and, unless `qr` is false, as a QR code; `pbm` writes it as an image.
    static func show(_ bundle: ContactBundle, qr: Bool, pbm: String?) -> Int32 {
        Terminal.line(bundle.text)
        let code: QRCode
        do { code = try QRCode(bytes: Array(bundle.text.utf8)) } catch { return CLI.fail("the bundle does not fit a QR code") }
        if qr { Terminal.out(code.terminalText) }
        if let pbm {
            do { try Files.writeAtomically(pbm, Array(code.pbm().utf8), mode: 0o644) } catch { return CLI.fail("\(pbm): \(error.description)") }
            Terminal.line("wrote \(pbm) (QR code, PBM image)")
        }
        return 0
    }

    static func newContact(_ args: [String]) -> Int32 {
        guard let (o, words) = CLI.parse(args, ["--pbm"], flags: ["--no-qr"], usage: contactUsage), words.count <= 1 else {
            Terminal.error(contactUsage); return 2
        }
        guard let p = ClientContext(o).openProfile() else { return 1 }
        let bundle: ContactBundle
        do { bundle = try p.newBundle(for: words.first, now: Clock.wallSeconds()) } catch { return CLI.fail(error.description) }
        Terminal.line("Your contact bundle\(words.first.map { " for \($0)" } ?? ""): let them scan the code or copy the text, then add theirs with 'postern contact add NAME BUNDLE'.")
        return show(bundle, qr: o["--no-qr"] == nil, pbm: o["--pbm"])
    }

    static func addContact(_ args: [String]) -> Int32 {
        guard let (o, words) = CLI.parse(args, ["--file"], usage: contactUsage), words.count == 1 || words.count == 2 else {
            Terminal.error(contactUsage); return 2
        }
        let name = words[0]
        var text: String
        if words.count == 2 && words[1] != "-" {
            text = words[1]
        } else {
            let path = o["--file"] ?? "/dev/stdin"
            if path == "/dev/stdin" && Terminal.inputIsTerminal {
                Terminal.error("paste \(name)'s contact code, then press Ctrl-D (or give it after the name, or --file FILE)")
            }
            do { text = String(decoding: try Files.read(path, limit: 64 << 10), as: UTF8.self) } catch {
                return CLI.fail("cannot read the bundle from \(path): \(error.description)")
            }
        }
        let bundle: ContactBundle
        do { bundle = try ContactBundle(text: text) } catch { return CLI.fail("not a contact bundle: \(error.description)") }
        guard let p = ClientContext(o).openProfile() else { return 1 }
        do {
            let (contact, made) = try p.addContact(name, bundle, now: Clock.wallSeconds())
            Terminal.line("added \(name) (mailbox at gateway \(contact.theirs.gateway.hex.prefix(16))…)")
            if made {
                Terminal.line("\(name) still needs your bundle: show them this code (also later with 'postern contact new \(name)'):")
                return show(contact.mine, qr: true, pbm: nil)
            }
        } catch { return CLI.fail(error.description) }
        return 0
    }

    static func listContacts(_ args: [String]) -> Int32 {
        guard let (o, words) = CLI.parse(args, [], usage: contactUsage), words.isEmpty else { Terminal.error(contactUsage); return 2 }
        guard let p = ClientContext(o).openProfile() else { return 1 }
        do {
            let contacts = try p.contacts(), pending = try p.pending(), outbox = try p.outbox(), inbox = try p.inbox()
            if contacts.isEmpty && pending.isEmpty { Terminal.line("no contacts yet ('postern contact new NAME')") }
            for c in contacts {
                let queued = outbox.filter { $0.contact == c.name }.count, unread = inbox.filter { $0.contact == c.name && !$0.seen }.count
                Terminal.line("\(Format.pad(c.name, 16, left: true)) added \(Format.utc(c.addedAt))  \(unread) unread, \(queued) queued")
            }
            for b in pending {
                Terminal.line("\(Format.pad(b.name.isEmpty ? "(unnamed)" : b.name, 16, left: true)) bundle shown \(Format.utc(b.createdAt)), not added yet")
            }
        } catch { return CLI.fail(error.description) }
        return 0
    }

    static func removeContact(_ args: [String]) -> Int32 {
        guard let (o, words) = CLI.parse(args, [], usage: contactUsage), words.count == 1 else { Terminal.error(contactUsage); return 2 }
        guard let p = ClientContext(o).openProfile() else { return 1 }
        do {
            guard try p.removeContact(words[0]) else { return CLI.fail(ProfileError.unknownContact(words[0]).description) }
        } catch { return CLI.fail(error.description) }
        Terminal.line("removed \(words[0]) with the conversation keys and its messages")
        return 0
    }
}
