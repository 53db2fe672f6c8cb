import Foundation
import PosternChat
import PosternClient
import PosternCover
import PosternCrypto
import PosternLocalNetwork
import PosternNetwork
import Testing

/// The README's walk-through, with the real `postern` binary: a testnet process, two profiles, contact
/// codes, messages, the network going away and coming back.
@Suite(.serialized) struct CommandLineTests {
    init() { signal(SIGPIPE, SIG_IGN) }   // a closed pipe to a child is an error here, not a crash

    static var postern: String {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("postern").path
    }

    struct Output {
        let status: Int32
        let out: String
        let err: String
    }

    final class Lab {
        let dir = NSTemporaryDirectory() + "postern-cli-" + UUID().uuidString
        var testnet: Process?

        init() throws {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            try "first passphrase\n".write(toFile: dir + "/rosalind.pass", atomically: true, encoding: .utf8)
            try "second passphrase\n".write(toFile: dir + "/maurice.pass", atomically: true, encoding: .utf8)
            try "chat identity passphrase\n".write(toFile: dir + "/chat.pass", atomically: true, encoding: .utf8)
        }

        deinit {
            stopNetwork()
            try? FileManager.default.removeItem(atPath: dir)
        }

        func startNetwork() throws {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: CommandLineTests.postern)
            p.arguments = ["testnet", "--dir", dir + "/net", "--delay-ms", "5"]
            let out = Pipe()
            p.standardOutput = out
            p.standardError = FileHandle.nullDevice
            try p.run()
            testnet = p
            // Ready once it says so (its listeners are open by then).
            var seen = Data()
            while !String(decoding: seen, as: UTF8.self).contains("Running until interrupted") {
                let chunk = out.fileHandleForReading.availableData
                if chunk.isEmpty { break }
                seen.append(chunk)
            }
        }

        func stopNetwork() {
            guard let p = testnet else { return }
            p.interrupt()
            p.waitUntilExit()
            testnet = nil
        }

        @discardableResult
        func run(_ who: String, _ args: [String], stdin: String? = nil, passphraseFile: String? = nil,
                 config: String = "client.toml") throws -> Output {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: CommandLineTests.postern)
            p.arguments = ["--profile", dir + "/" + who, "--config", dir + "/net/" + config,
                           "--passphrase-file", passphraseFile ?? dir + "/" + who + ".pass"] + args
            var env = ProcessInfo.processInfo.environment
            env["POSTERN_PASSPHRASE"] = nil
            p.environment = env
            let out = Pipe(), err = Pipe(), input = Pipe()
            p.standardOutput = out
            p.standardError = err
            p.standardInput = input
            try p.run()
            // A child that exits without reading must not take the test process down with SIGPIPE.
            if let stdin { try? input.fileHandleForWriting.write(contentsOf: Data(stdin.utf8)) }
            try? input.fileHandleForWriting.close()
            let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            return Output(status: p.terminationStatus, out: String(decoding: o, as: UTF8.self), err: String(decoding: e, as: UTF8.self))
        }
    }

    static func bundle(in text: String) -> String? { text.split(separator: "\n").first { $0.hasPrefix("postern:") }.map(String.init) }

    @Test func twoProfilesThroughATestnet() throws {
        let lab = try Lab()
        try lab.startNetwork()
        #expect(FileManager.default.fileExists(atPath: lab.dir + "/net/client.toml"))
        let created = try lab.run("rosalind", ["profile", "new", "--gateway", "1"])
        #expect(created.status == 0 && !created.err.contains("weak"), "\(created.err)")
        // The hint repeats the options this profile needs (it used to leave out --profile).
        #expect(created.out.contains("next: 'postern --profile \(lab.dir)/rosalind --config \(lab.dir)/net/client.toml "
                                  + "--passphrase-file \(lab.dir)/rosalind.pass contact new NAME'"), "\(created.out)")
        #expect(try lab.run("maurice", ["profile", "new", "--gateway", "2"]).status == 0)
        // A short passphrase is taken, with a warning that says why (it used to be taken silently).
        try "abc\n".write(toFile: lab.dir + "/weak.pass", atomically: true, encoding: .utf8)
        let weak = try lab.run("weak", ["profile", "new", "--gateway", "1"], passphraseFile: lab.dir + "/weak.pass")
        #expect(weak.status == 0 && weak.err.contains("warning: a passphrase of 3 characters is weak"), "\(weak.err)")

        // Rosalind shows a code for Maurice (also as an image); Maurice adds it from stdin and shows his.
        let shown = try lab.run("rosalind", ["contact", "new", "maurice", "--pbm", lab.dir + "/code.pbm"])
        #expect(shown.status == 0)
        let rosalindsBundle = try #require(Self.bundle(in: shown.out))
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/zbarimg") {
            let scan = Process()
            scan.executableURL = URL(fileURLWithPath: "/usr/bin/zbarimg")
            scan.arguments = ["-q", "--raw", lab.dir + "/code.pbm"]
            let pipe = Pipe()
            scan.standardOutput = pipe
            try scan.run()
            let decoded = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            scan.waitUntilExit()
            #expect(decoded.trimmingCharacters(in: .whitespacesAndNewlines) == rosalindsBundle)
        }
        let added = try lab.run("maurice", ["contact", "add", "rosalind", "-"], stdin: rosalindsBundle + "\n")
        #expect(added.status == 0, "\(added.err)")
        let mauricesBundle = try #require(Self.bundle(in: added.out))
        #expect(try lab.run("rosalind", ["contact", "add", "maurice", mauricesBundle]).status == 0)
        #expect(try lab.run("rosalind", ["contact", "add", "again", mauricesBundle]).err.contains("already added"))

        // A message, acknowledged by Maurice's gateway; Maurice reads it as JSON.
        let sent = try lab.run("rosalind", ["send", "maurice", "the", "crystal", "photographs", "are", "ready"])
        #expect(sent.status == 0, "\(sent.err)")
        #expect(sent.out.contains("delivered to maurice"))
        let inbox = try lab.run("maurice", ["inbox", "--json"])
        let line = try #require(inbox.out.split(separator: "\n").first)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(object["from"] as? String == "rosalind")
        #expect(object["text"] as? String == "the crystal photographs are ready")
        #expect(try lab.run("maurice", ["inbox"]).out.contains("no new messages"))

        // What that cost, by category: the send moved one message, its handshake and fetches (the map was
        // fetched by 'profile new', before the profile existed to count it).
        let used = try lab.run("rosalind", ["usage", "--json"])
        let usage = try #require(try JSONSerialization.jsonObject(with: Data(used.out.utf8)) as? [String: Any], "\(used.out) \(used.err)")
        let today = try #require(usage["today"] as? [String: Any]), up = try #require(today["up"] as? [String: Int])
        #expect(up["messages"] == 2 + 5 + 2640 + 16, "one SUBMIT frame: \(up)")
        #expect(up["handshakes"] == 50 && (up["fetches"] ?? 0) > 0 && up["cover"] == 0, "\(up)")
        #expect(try lab.run("rosalind", ["usage"]).out.contains("this month"))

        // The network goes away: the message is kept and the command says so in one line.
        lab.stopNetwork()
        let queued = try lab.run("maurice", ["send", "rosalind", "--wait", "5", "--file", lab.dir + "/maurice.pass"])
        #expect(queued.status == 75)
        #expect(queued.err.split(separator: "\n").count == 1 && queued.err.contains("stays queued"))
        #expect(try lab.run("maurice", ["outbox"]).out.contains("not sent yet"))
        // It comes back (same keys, same mailboxes): the next inbox run sends it; Rosalind gets it.
        try lab.startNetwork()
        let retried = try lab.run("maurice", ["inbox"])
        #expect(retried.out.contains("delivered to rosalind"), "\(retried.out) \(retried.err)")
        let got = try lab.run("rosalind", ["inbox"])
        #expect(got.out.contains("rosalind: second passphrase") == false && got.out.contains("maurice: second passphrase"))

        // 'inbox --watch' follows new messages and lets 'send' use the same profile alongside it.
        let watch = Process()
        watch.executableURL = URL(fileURLWithPath: Self.postern)
        watch.arguments = ["--profile", lab.dir + "/rosalind", "--config", lab.dir + "/net/client.toml",
                           "--passphrase-file", lab.dir + "/rosalind.pass", "inbox", "--watch", "--json"]
        let watched = Pipe()
        watch.standardOutput = watched
        watch.standardError = FileHandle.nullDevice
        try watch.run()
        #expect(try lab.run("maurice", ["send", "rosalind", "are you watching?"]).status == 0)
        let alongside = try lab.run("rosalind", ["send", "maurice", "yes, and writing"])
        #expect(alongside.status == 0, "\(alongside.err)")
        Thread.sleep(forTimeInterval: 0.5)
        // Between its polls (once a second here) a watch sleeps: it used to wake every 20 ms to look at
        // its own flags (50 voluntary context switches a second on top of the polls).
        func switches() -> Int {
            let status = (try? String(contentsOfFile: "/proc/\(watch.processIdentifier)/status", encoding: .utf8)) ?? ""
            let line = status.split(separator: "\n").first { $0.hasPrefix("voluntary_ctxt_switches:") } ?? ""
            return Int(line.split(separator: "\t").last.map { $0.trimmingCharacters(in: .whitespaces) } ?? "") ?? -1
        }
        let switchesBefore = switches()
        Thread.sleep(forTimeInterval: 2)   // two watch cycles (poll_seconds = 1 in the testnet's config)
        let woke = switches() - switchesBefore
        #expect(switchesBefore >= 0 && woke < 50, "\(woke) wakeups in 2 s")
        watch.interrupt()
        let followed = String(decoding: watched.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        watch.waitUntilExit()
        #expect(watch.terminationStatus == 0)
        #expect(followed.contains("\"text\":\"are you watching?\""), "\(followed)")

        // A public chat over the same network: an anonymous post that the poster's second device (restored
        // from the seed phrase) recognises as its own, while anyone else sees "Anonymous".
        let made = try lab.run("chat", ["chat", "identity", "new", "--identity", lab.dir + "/laptop.id"])
        let phrase = try #require(made.out.split(separator: "\n").dropFirst().first).trimmingCharacters(in: .whitespaces)
        #expect(phrase.split(separator: " ").count == 12)
        #expect(try lab.run("chat", ["chat", "identity", "restore", "--identity", lab.dir + "/phone.id"], stdin: phrase + "\n").status == 0)
        #expect(try lab.run("chat", ["chat", "identity", "new", "--identity", lab.dir + "/stranger.id"]).status == 0)
        let posted = try lab.run("chat", ["chat", "post", "--chat", "lobby", "--text", "who said this?", "--anonymous", "signed",
                                          "--identity", lab.dir + "/laptop.id"])
        #expect(posted.status == 0 && posted.out.contains("posted to #lobby"), "\(posted.err)")
        var phoneView = "", strangerView = ""
        for _ in 0..<50 where !phoneView.contains("who said this?") {   // the post crosses the mixnet first
            Thread.sleep(forTimeInterval: 0.1)
            phoneView = try lab.run("chat", ["chat", "read", "--chat", "lobby", "--identity", lab.dir + "/phone.id"]).out
        }
        strangerView = try lab.run("chat", ["chat", "read", "--chat", "lobby", "--identity", lab.dir + "/stranger.id"]).out
        #expect(phoneView.contains("me (anonymous): who said this?"), "\(phoneView)")
        #expect(strangerView.contains("Anonymous: who said this?"), "\(strangerView)")

        // Sessions (docs/CHAT.md): Rosalind posts in #lobby under a session pseudonym, tells only Maurice
        // through their conversation that it is her, then reveals it to the whole chat.
        let rid = lab.dir + "/rosalind.id", mid = lab.dir + "/maurice.id"
        let rosalindID = try lab.run("rosalind", ["chat", "identity", "new", "--identity", rid])
        let chatKey = try #require(rosalindID.out.split(separator: "\n").first { $0.hasPrefix("chat key ") }).dropFirst(9)
        #expect(try lab.run("maurice", ["chat", "identity", "new", "--identity", mid]).status == 0)
        let started = try lab.run("rosalind", ["chat", "session", "new", "--chat", "lobby", "--identity", rid])
        let pseudonym = try #require(started.out.split(separator: " ").last).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(started.status == 0 && started.out.contains("#lobby: session 0, shown to the chat as 0x"), "\(started.err)")
        let sessionPost = try lab.run("rosalind", ["chat", "post", "--chat", "lobby", "--text", "from a session", "--session", "--identity", rid])
        #expect(sessionPost.status == 0 && sessionPost.out.contains("posted to #lobby"), "\(sessionPost.err)")
        var ownView = ""
        for _ in 0..<50 where !ownView.contains("from a session") {
            Thread.sleep(forTimeInterval: 0.1)
            ownView = try lab.run("rosalind", ["chat", "read", "--chat", "lobby", "--identity", rid]).out
        }
        #expect(ownView.contains("me (session 0): from a session"), "\(ownView)")
        strangerView = try lab.run("chat", ["chat", "read", "--chat", "lobby", "--identity", lab.dir + "/stranger.id"]).out
        #expect(strangerView.contains("\(pseudonym)") && strangerView.contains(": from a session") && !strangerView.contains("rosalind"),
                "\(strangerView)")
        let told = try lab.run("rosalind", ["chat", "session", "reveal", "--chat", "lobby", "--to", "maurice", "--identity", rid])
        #expect(told.status == 0 && told.out.contains("delivered to maurice"), "\(told.out) \(told.err)")
        #expect(try lab.run("maurice", ["inbox"]).status == 0)
        let learnt = try lab.run("maurice", ["chat", "session", "learn", "--chat", "lobby", "--from", "rosalind", "--identity", mid])
        #expect(learnt.status == 0 && learnt.out.contains("verified: \(pseudonym) in #lobby is rosalind"), "\(learnt.out) \(learnt.err)")
        var mauriceView = try lab.run("maurice", ["chat", "read", "--chat", "lobby", "--identity", mid]).out
        #expect(mauriceView.contains("\(pseudonym) (rosalind, told you privately): from a session"), "\(mauriceView)")
        let revealed = try lab.run("rosalind", ["chat", "session", "reveal", "--chat", "lobby", "--identity", rid])
        #expect(revealed.status == 0 && revealed.out.contains("posted to #lobby"), "\(revealed.err)")
        for _ in 0..<50 where !strangerView.contains("revealed") {
            Thread.sleep(forTimeInterval: 0.1)
            strangerView = try lab.run("chat", ["chat", "read", "--chat", "lobby", "--identity", lab.dir + "/stranger.id"]).out
        }
        #expect(strangerView.contains("\(pseudonym) (revealed: 0x\(chatKey.prefix(16))): from a session"), "\(strangerView)")
        // A new session; Maurice asks which of the keys he sees in #lobby are hers, she answers, he learns.
        let rotated = try lab.run("rosalind", ["chat", "session", "rotate", "--chat", "lobby", "--identity", rid])
        let second = try #require(rotated.out.split(separator: " ").last).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(rotated.out.contains("session 1") && second != pseudonym, "\(rotated.out)")
        #expect(try lab.run("rosalind", ["chat", "post", "--chat", "lobby", "--text", "a fresh start", "--session", "--identity", rid]).status == 0)
        for _ in 0..<50 where !mauriceView.contains("a fresh start") {
            Thread.sleep(forTimeInterval: 0.1)
            mauriceView = try lab.run("maurice", ["chat", "read", "--chat", "lobby", "--identity", mid]).out
        }
        #expect(mauriceView.contains("\(second)") && !mauriceView.contains("\(second) ("), "\(mauriceView)")
        let asked = try lab.run("maurice", ["chat", "session", "ask", "--chat", "lobby", "--to", "rosalind", "--identity", mid])
        #expect(asked.status == 0 && asked.out.contains("asking rosalind which of "), "\(asked.out) \(asked.err)")
        #expect(try lab.run("rosalind", ["inbox"]).status == 0)
        let answered = try lab.run("rosalind", ["chat", "session", "answer", "--from", "maurice", "--identity", rid])
        #expect(answered.status == 0 && answered.out.contains("revealed 1 session to maurice"), "\(answered.out) \(answered.err)")
        #expect(try lab.run("maurice", ["inbox"]).status == 0)
        let learntAgain = try lab.run("maurice", ["chat", "session", "learn", "--chat", "lobby", "--from", "rosalind", "--identity", mid])
        #expect(learntAgain.out.contains("verified: \(second) in #lobby is rosalind"), "\(learntAgain.out) \(learntAgain.err)")
        mauriceView = try lab.run("maurice", ["chat", "read", "--chat", "lobby", "--identity", mid]).out
        #expect(mauriceView.contains("\(second) (rosalind, told you privately): a fresh start"), "\(mauriceView)")
        // Rotating again, linked for Maurice only: he sees the third session as hers too.
        let linked = try lab.run("rosalind", ["chat", "session", "rotate", "--chat", "lobby", "--link-to", "maurice", "--identity", rid])
        let third = try #require(linked.out.split(separator: "\n").first?.split(separator: " ").last).trimmingCharacters(in: .whitespaces)
        #expect(linked.status == 0 && linked.out.contains("telling maurice that \(third) continues \(second)")
                && linked.out.contains("delivered to maurice"), "\(linked.out) \(linked.err)")
        #expect(try lab.run("maurice", ["inbox"]).status == 0)
        let followed2 = try lab.run("maurice", ["chat", "session", "learn", "--chat", "lobby", "--from", "rosalind", "--identity", mid])
        #expect(followed2.out.contains("verified: \(third) in #lobby continues \(second)"), "\(followed2.out) \(followed2.err)")
        #expect(try lab.run("rosalind", ["chat", "post", "--chat", "lobby", "--text", "third time", "--session", "--identity", rid]).status == 0)
        for _ in 0..<50 where !mauriceView.contains("third time") {
            Thread.sleep(forTimeInterval: 0.1)
            mauriceView = try lab.run("maurice", ["chat", "read", "--chat", "lobby", "--identity", mid]).out
        }
        #expect(mauriceView.contains("\(third) (rosalind, told you privately): third time"), "\(mauriceView)")

        // A backup restored on another device: export, import there, a new passphrase there, and the
        // conversation goes on from the copy (the original is not used to send again).
        let exported = try lab.run("rosalind", ["profile", "export", lab.dir + "/rosalind.backup"])
        #expect(exported.status == 0 && exported.out.contains("exported"), "\(exported.err)")
        let backup = try Data(contentsOf: URL(fileURLWithPath: lab.dir + "/rosalind.backup"))
        #expect(backup.range(of: Data("maurice".utf8)) == nil && backup.range(of: Data("crystal".utf8)) == nil)
        let imported = try lab.run("copy", ["profile", "import", lab.dir + "/rosalind.backup"], passphraseFile: lab.dir + "/rosalind.pass")
        #expect(imported.status == 0, "\(imported.err)")
        try "the copy's own passphrase\n".write(toFile: lab.dir + "/copy.pass", atomically: true, encoding: .utf8)
        let changed = try lab.run("copy", ["profile", "passphrase", "--new-passphrase-file", lab.dir + "/copy.pass"],
                                  passphraseFile: lab.dir + "/rosalind.pass")
        #expect(changed.status == 0 && changed.out.contains("passphrase changed"), "\(changed.err)")
        #expect(try lab.run("copy", ["contact", "list"], passphraseFile: lab.dir + "/rosalind.pass").err.contains("wrong passphrase"))
        let fromCopy = try lab.run("copy", ["send", "maurice", "from", "the", "restored", "copy"])
        #expect(fromCopy.status == 0 && fromCopy.out.contains("delivered to maurice"), "\(fromCopy.err)")
        #expect(try lab.run("maurice", ["inbox"]).out.contains("rosalind: from the restored copy"))

        // Wrong passphrase: one line, nothing touched; unknown contact: one line.
        try "not it\n".write(toFile: lab.dir + "/wrong.pass", atomically: true, encoding: .utf8)
        let wrong = try lab.run("rosalind", ["inbox"], passphraseFile: lab.dir + "/wrong.pass")
        #expect(wrong.status == 1 && wrong.err == "postern: wrong passphrase (nothing was changed)\n")
        let unknown = try lab.run("rosalind", ["send", "nobody", "hello"])
        #expect(unknown.status == 1 && unknown.err.contains("no contact named 'nobody'"))

        // Nothing readable in either profile's files: texts, names, bundles.
        for who in ["rosalind", "maurice"] {
            var files = Data()
            for name in try FileManager.default.subpathsOfDirectory(atPath: lab.dir + "/" + who) {
                if let d = FileManager.default.contents(atPath: lab.dir + "/" + who + "/" + name) { files.append(d) }
            }
            for secret in ["crystal photographs", "second passphrase", "rosalind", "maurice", String(rosalindsBundle.dropFirst(8).prefix(24))] {
                #expect(files.range(of: Data(secret.utf8)) == nil, "\(secret) readable in \(who)'s profile")
            }
        }
    }

    /// With cover traffic on, `inbox --watch` is the one sender: `send` hands its message over, the watch
    /// sends it in a payload slot among dummies, loops and drops, and the acknowledgement closes it.
    @Test func coverWatchSendsInPayloadSlots() throws {
        let lab = try Lab()
        try lab.startNetwork()
        let plain = try String(contentsOfFile: lab.dir + "/net/client.toml", encoding: .utf8)
        #expect(plain.contains("enabled = false"))   // off by default
        let withCover = plain.replacingOccurrences(of: "enabled = false", with: "enabled = true")
            .replacingOccurrences(of: "payload_per_minute = 30", with: "payload_per_minute = 300")
            .replacingOccurrences(of: "loop_per_minute = 6", with: "loop_per_minute = 600")
            .replacingOccurrences(of: "bytes_per_day_mb = 300", with: "bytes_per_day_mb = 1000000")   // full level throughout
        try withCover.write(toFile: lab.dir + "/net/cover.toml", atomically: true, encoding: .utf8)
        #expect(try lab.run("rosalind", ["profile", "new", "--gateway", "1"]).status == 0)
        #expect(try lab.run("maurice", ["profile", "new", "--gateway", "2"]).status == 0)
        let code = try #require(Self.bundle(in: try lab.run("rosalind", ["contact", "new", "maurice", "--no-qr"]).out))
        let back = try #require(Self.bundle(in: try lab.run("maurice", ["contact", "add", "rosalind", code]).out))
        #expect(try lab.run("rosalind", ["contact", "add", "maurice", back]).status == 0)

        let watch = Process()
        watch.executableURL = URL(fileURLWithPath: Self.postern)
        watch.arguments = ["--profile", lab.dir + "/rosalind", "--config", lab.dir + "/net/cover.toml",
                           "--passphrase-file", lab.dir + "/rosalind.pass", "inbox", "--watch"]
        let errors = Pipe()
        watch.standardOutput = FileHandle.nullDevice
        watch.standardError = errors
        try watch.run()
        for _ in 0..<50 where !FileManager.default.fileExists(atPath: lab.dir + "/rosalind/cover.pid") { Thread.sleep(forTimeInterval: 0.1) }
        let sent = try lab.run("rosalind", ["send", "maurice", "hidden among dummies"], config: "cover.toml")
        #expect(sent.status == 0, "\(sent.err)")
        #expect(sent.out.contains("sent in a cover payload slot"), "\(sent.out)")
        Thread.sleep(forTimeInterval: 2)   // loops sent early have time to come back
        watch.interrupt()
        let report = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        watch.waitUntilExit()
        #expect(report.contains("cover: 1 messages and"), "\(report)")
        let loopsBack = report.split(separator: "(").last.flatMap { Int($0.split(separator: " ").first ?? "") } ?? 0
        #expect(loopsBack > 0, "\(report)")
        #expect(!FileManager.default.fileExists(atPath: lab.dir + "/rosalind/cover.pid"))
        #expect(try lab.run("maurice", ["inbox"]).out.contains("rosalind: hidden among dummies"))

        // The day's cover spend is kept in the profile and counted again by the next run: restarting the
        // watch does not restart the budget (it overspent a 20 MiB budget by 89–137%). The spend is every
        // byte to and from the gateway (the measured usage), not the packets alone.
        func packets(_ report: String) -> Int {
            // "cover: R messages and D dummies in payload slots, L loops (B back, X lost), P drops"
            let line = report.split(separator: "\n").first { $0.hasPrefix("cover: ") } ?? ""
            let n = line.split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
            return n.count == 6 ? n[0] + n[1] + n[2] + n[5] : -1
        }
        func spent() throws -> (spend: CoverSpend?, usage: Int64) {
            let p = try Profile.open(directory: lab.dir + "/rosalind", passphrase: Array("first passphrase".utf8), waitSeconds: 5)
            defer { p.close() }
            return (try p.coverSpent(), try p.usage()?.today.total ?? 0)
        }
        let (firstSpend, firstUsage) = try spent()
        let first = try #require(firstSpend), firstPackets = packets(report)
        #expect(firstPackets > 0 && first.bytes > Int64(firstPackets * 2640), "\(first) \(report)")
        #expect(first.bytes == firstUsage, "spend \(first.bytes), usage \(firstUsage)")   // charged at exit
        #expect(abs(first.day - Int64(Date().timeIntervalSince1970) / 86_400) <= 1)   // a run across midnight UTC
        let again = Process()
        again.executableURL = watch.executableURL
        again.arguments = watch.arguments
        let againErrors = Pipe()
        again.standardOutput = FileHandle.nullDevice
        again.standardError = againErrors
        try again.run()
        Thread.sleep(forTimeInterval: 1.5)
        again.interrupt()
        let secondReport = String(decoding: againErrors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        again.waitUntilExit()
        let (secondSpend, secondUsage) = try spent()
        let second = try #require(secondSpend)
        if second.day == first.day {   // (a new UTC day in between starts from 0)
            #expect(packets(secondReport) > 0 && second.bytes > first.bytes, "\(first) then \(second); \(secondReport)")
            #expect(second.bytes == secondUsage, "spend \(second.bytes), usage \(secondUsage)")
        }
    }

    /// The passphrase prompt on a real terminal (a pty from util-linux `script`): asked twice for a new
    /// profile, never echoed, and a wrong one refused in one line.
    /// Every command and subcommand answers --help (and `help CMD`) with its own usage on standard output,
    /// exit 0 (they printed "unknown or incomplete option '--help'" and exited 2, or the wrong usage).
    @Test func everyCommandAnswersHelp() throws {
        let cases: [([String], String)] = [
            (["send", "--help"], "postern [--profile DIR] [--config FILE] send"), (["inbox", "-h"], "inbox"), (["outbox", "--help"], "outbox"),
            (["profile", "--help"], "profile new"), (["profile", "set", "--help"], "profile set"), (["contact", "add", "--help"], "contact add"),
            (["node", "--help"], "node run"), (["node", "run", "--help"], "node run"), (["help", "node"], "node run"),
            (["network", "--help"], "network keygen"), (["chat", "post", "--help"], "chat post"), (["keys", "--help"], "keys derive"),
            (["selftest", "--help"], "postern selftest"), (["demo", "--help"], "postern demo"), (["testnet", "--help"], "postern testnet"),
            (["help", "send"], "send"), (["--help"], "for people:"), (["simulate", "gossip", "--help"], "postern simulate gossip"),
        ]
        for (args, fragment) in cases {
            let (status, out) = try LivingNetworkTests.run(args)
            #expect(status == 0, "\(args): \(out)")
            #expect(out.contains("usage: ") && out.contains(fragment) && !out.contains("unknown"), "\(args): \(out)")
            if !["outbox", "--help"].contains(args[0]) && args != ["help", "node"] && args != ["profile", "set", "--help"] {
                #expect(out.contains("example: postern"), "\(args): no example in \(out)")
            }
        }
    }

    /// One exit-status convention (docs/CLIENT.md): a wrong command line is 2, with one line saying what
    /// (these three exited 1, or named an option a command).
    @Test func usageErrorsExitTwo() throws {
        let cases: [([String], String)] = [
            (["send", "bob", "--wait", "abc", "hi"], "postern: --wait needs a whole number of seconds"),
            (["profile", "set", "--retention-days", "-3"], "postern: --retention-days must be 0…36500"),
            (["--bogus", "inbox"], "postern: unknown option '--bogus'"),
            (["chat", "post", "--chat", "c", "--text", "t", "--anonymous", "loud"], "postern: --anonymous must be derived, signed or keyless"),
            (["simulate", "gossip", "--nodes", "5"], "postern: --nodes 10…200000"),
            (["simulate", "gossip", "--flood-limit", "0"], "postern: --nodes 10…200000"),
            (["simulate", "flood"], "postern: simulate what? (gossip, anonymity)"),
            (["simulate", "anonymity", "--clients", "1"], "postern: --clients 2…100000"),
        ]
        for (args, message) in cases {
            let (status, out) = try LivingNetworkTests.run(["--profile", "/nonexistent/postern-profile"] + args)
            #expect(status == 2, "\(args): \(out)")
            #expect(out.hasPrefix(message), "\(args): \(out)")
        }
    }

    /// `simulate gossip --json`: one JSON line per epoch with the measures docs/BENCH.md reports, the same
    /// for the same seed.
    @Test func simulateGossipReportsJSONLinesPerEpoch() throws {
        let args = ["simulate", "gossip", "--nodes", "60", "--view", "12", "--sample", "12", "--epochs", "3", "--rounds-per-epoch", "6",
                    "--victims", "2", "--flood-limit", "9", "--json"]
        let (status, out) = try LivingNetworkTests.run(args)
        #expect(status == 0, "\(out)")
        let lines = out.split(separator: "\n")
        #expect(lines.count == 3, "\(out)")
        for (i, line) in lines.enumerated() {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            #expect(object["epoch"] as? Int == i)
            for key in ["bytes_per_node_day", "bytes_per_client_day", "malicious_in_samples", "dead_in_samples_after_refresh",
                        "joiners_heard_by", "joiners_in_samples", "memory_per_node", "malicious_in_victim_samples", "victim_flooded_rounds"] {
                #expect(object[key] != nil, "\(key) missing in \(line)")
            }
            #expect(object["victims"] as? Int == 2 && object["flood_limit"] as? Int == 9, "\(line)")
        }
        #expect(try LivingNetworkTests.run(args).1 == out)
    }

    /// `chat post` dates a post as status-go does: timestamp in Unix milliseconds, Lamport clock at least
    /// that (it used to write Unix seconds, which a Status client shows as January 1970).
    @Test func chatPostsCarryStatusMilliseconds() throws {
        let dir = NSTemporaryDirectory() + "postern-chat-ms-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "a chat passphrase\n".write(toFile: dir + "/pass", atomically: true, encoding: .utf8)
        let pass = ["--passphrase-file", dir + "/pass"]
        #expect(try LivingNetworkTests.run(pass + ["chat", "identity", "new", "--identity", dir + "/me.id"]).0 == 0)
        let before = UInt64(Date().timeIntervalSince1970 * 1000)
        let (status, out) = try LivingNetworkTests.run(pass + ["chat", "post", "--chat", "lobby", "--text", "when?", "--identity", dir + "/me.id",
                                                               "--out", dir + "/post.hex"])
        let after = UInt64(Date().timeIntervalSince1970 * 1000)
        #expect(status == 0, "\(out)")
        let hex = try String(contentsOfFile: dir + "/post.hex", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let message = try ChatMessage(decoding: WrappedMessage(decoding: try #require(Hex.decode(hex))).payload)
        #expect(message.timestamp >= before && message.timestamp <= after, "\(message.timestamp) not in [\(before), \(after)]")
        #expect(message.clock >= message.timestamp)
    }

    /// The chat identity's seed is encrypted at rest under a passphrase, like the profile (it was plain
    /// hex): the file holds neither the seed nor anything that opens without the passphrase; a file an
    /// earlier version wrote still works, with a warning, and `chat identity protect` encrypts it.
    @Test func chatIdentityIsEncryptedAtRest() throws {
        let dir = NSTemporaryDirectory() + "postern-chat-id-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "the right passphrase\n".write(toFile: dir + "/pass", atomically: true, encoding: .utf8)
        try "not the passphrase\n".write(toFile: dir + "/wrong", atomically: true, encoding: .utf8)
        let pass = ["--passphrase-file", dir + "/pass"]
        let (made, out) = try LivingNetworkTests.run(pass + ["chat", "identity", "new", "--identity", dir + "/me.id"])
        #expect(made == 0, "\(out)")
        let phrase = try #require(out.split(separator: "\n").first { $0.hasPrefix("  ") }, "no seed phrase in: \(out)").trimmingCharacters(in: .whitespaces)
        let seed = try BIP39.seed(phrase: phrase.split(separator: " ").map(String.init))
        let file = try String(contentsOfFile: dir + "/me.id", encoding: .utf8)
        #expect(file.hasPrefix("postern-chat-identity/2 ") && !file.contains(Hex.encode(seed)))
        let post = ["chat", "post", "--chat", "c", "--text", "t", "--identity", dir + "/me.id"]
        #expect(try LivingNetworkTests.run(pass + post).0 == 0)
        let wrong = try LivingNetworkTests.run(["--passphrase-file", dir + "/wrong"] + post)
        #expect(wrong.0 == 1 && wrong.1.contains("wrong passphrase for the chat identity"), "\(wrong.1)")

        // An identity file from before: the seed in hex.
        try (Hex.encode(seed) + "\n").write(toFile: dir + "/old.id", atomically: true, encoding: .utf8)
        let old = try LivingNetworkTests.run(["chat", "post", "--chat", "c", "--text", "t", "--identity", dir + "/old.id"])
        #expect(old.0 == 0 && old.1.contains("holds the seed unencrypted"), "\(old.1)")
        #expect(try LivingNetworkTests.run(pass + ["chat", "identity", "protect", "--identity", dir + "/old.id"]).0 == 0)
        #expect(try String(contentsOfFile: dir + "/old.id", encoding: .utf8).hasPrefix("postern-chat-identity/2 "))
        let after = try LivingNetworkTests.run(pass + ["chat", "post", "--chat", "c", "--text", "t", "--identity", dir + "/old.id"])
        #expect(after.0 == 0 && !after.1.contains("unencrypted"), "\(after.1)")
    }

    @Test func passphrasePromptWithoutEcho() throws {
        let script = "/usr/bin/script"
        try #require(FileManager.default.isExecutableFile(atPath: script), "util-linux 'script' provides the terminal")
        let dir = NSTemporaryDirectory() + "postern-tty-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: dir) }
        func onTerminal(_ args: String, answers: [String], paste: String? = nil) throws -> (Int32, String) {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: script)
            p.arguments = ["-qec", "\(Self.postern) --profile \(dir) \(args)", "/dev/null"]
            var env = ProcessInfo.processInfo.environment
            env["POSTERN_PASSPHRASE"] = nil
            env["POSTERN_PASSPHRASE_FILE"] = nil
            p.environment = env
            let input = Pipe(), output = Pipe()
            p.standardInput = input
            p.standardOutput = output
            p.standardError = output
            try p.run()
            var seen = "", answered = 0, pasted = false
            // Answer each prompt once it is shown (type-ahead is discarded when echo goes off).
            while true {
                let chunk = output.fileHandleForReading.availableData
                if chunk.isEmpty { break }
                seen += String(decoding: chunk, as: UTF8.self)
                if let paste, !pasted, seen.contains("press Ctrl-D") {
                    pasted = true
                    try? input.fileHandleForWriting.write(contentsOf: Data((paste + "\n\u{4}").utf8))
                }
                let prompts = seen.components(separatedBy: "assphrase").count - 1
                while answered < min(prompts, answers.count) {
                    Thread.sleep(forTimeInterval: 0.1)
                    try? input.fileHandleForWriting.write(contentsOf: Data((answers[answered] + "\n").utf8))
                    answered += 1
                }
            }
            p.waitUntilExit()
            return (p.terminationStatus, seen)
        }
        let (created, createdText) = try onTerminal("profile show", answers: [])
        #expect(created == 1 && createdText.contains("no profile at"))
        // 'profile new' learns the network from the gateway in client.toml: a testnet.
        let lab = try Lab()
        try lab.startNetwork()
        let (status, text) = try onTerminal("--config \(lab.dir)/net/client.toml profile new", answers: ["tty secret 1", "tty secret 1"])
        #expect(status == 0, "\(text)")
        #expect(text.contains("New profile passphrase") && text.contains("Repeat the passphrase"))
        #expect(!text.contains("tty secret 1"), "the passphrase was echoed")
        let (shown, shownText) = try onTerminal("profile show", answers: ["tty secret 1"])
        #expect(shown == 0 && shownText.contains("retention   30 days") && !shownText.contains("tty secret"))
        let (wrong, wrongText) = try onTerminal("profile show", answers: ["not it"])
        #expect(wrong == 1 && wrongText.contains("postern: wrong passphrase (nothing was changed)") && !wrongText.contains("not it"))
        // 'contact add NAME' without a code says what it waits for on a terminal (it used to wait in silence).
        let (added, addedText) = try onTerminal("contact add dave", answers: [], paste: "not a code")
        #expect(added == 1 && addedText.contains("paste dave's contact code, then press Ctrl-D") && addedText.contains("not a contact bundle"), "\(addedText)")
    }
}
