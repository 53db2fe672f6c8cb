import PosternClient
import PosternCover
import PosternCrypto
import PosternNetwork
import PosternNode
import PosternSystem

/// `postern send`, `postern inbox` and `postern outbox`.
enum MessageCommand {
    static let sendUsage = """
    usage: postern [--profile DIR] [--config FILE] send NAME TEXT… | send NAME --file FILE [--wait SECONDS]
    Encrypts TEXT for contact NAME, queues it and sends it; waits --wait seconds (default 30) for the
    delivery acknowledgement. Exit 0 delivered, 75 queued but not yet confirmed (sent again later), 1 failed.
    example: postern send bob "see you at eight"
    """
    static let inboxUsage = """
    usage: postern [--profile DIR] [--config FILE] inbox [--watch] [--json] [--all]
    Sends what is queued, fetches and shows new messages (then marks them read). --all: read ones too;
    --json: one object per line; --watch: follow until Ctrl-C (with [cover] enabled, cover traffic too).
    example: postern inbox --watch
    """
    static let outboxUsage = """
    usage: postern [--profile DIR] outbox
    Messages not yet acknowledged by their recipient's gateway, with their attempts.
    """
    /// Exit status when a message is safely queued but not (yet) confirmed delivered (EX_TEMPFAIL).
    static let queuedStatus: Int32 = 75

    /// Keeps fetching every `interval` seconds while the loop runs.
    final class Poller {
        let session: Session
        let interval: UInt64
        var last: UInt64 = 0
        init(_ session: Session, seconds: Double) {
            self.session = session
            interval = UInt64(seconds * 1e9)
        }
        func tick() {
            guard EventLoop.now() &- last >= interval else { return }
            last = EventLoop.now()
            _ = try? session.flushOutbox()
            session.poll { _ in }
        }
    }

    static func preview(_ text: [UInt8]) -> String {
        let s = String(decoding: text, as: UTF8.self)
        return s.count > 40 ? String(s.prefix(40)) + "…" : s
    }

    static func send(_ args: [String]) -> Int32 {
        guard let (o, words) = CLI.parse(args, ["--file", "--wait"], usage: sendUsage), !words.isEmpty,
              (words.count >= 2) != (o["--file"] != nil) else { Terminal.error(sendUsage); return 2 }
        guard let waitSeconds = Int(o["--wait"] ?? "30"), waitSeconds >= 0 else { return CLI.usageError("--wait needs a whole number of seconds") }
        let wait = Double(waitSeconds)
        let name = words[0]
        var text: [UInt8]
        if let file = o["--file"] {
            do { text = try Files.read(file, limit: 1 << 20) } catch { return CLI.fail("\(file): \(error.description)") }
        } else {
            text = Array(words.dropFirst().joined(separator: " ").utf8)
        }
        guard !text.isEmpty else { return CLI.fail("the message is empty") }
        let ctx = ClientContext(o)
        guard let profile = ctx.openProfile(), let (session, loop, _) = ctx.session(profile) else { return 1 }
        defer { session.close() }
        var delivered: Set<UInt64> = [], problem: String?, arrived = 0
        session.onDelivered = { entry in
            delivered.insert(entry.id)
            Terminal.clearProgress()
            Terminal.line("delivered to \(entry.contact): \"\(preview(entry.text))\"")
        }
        session.onProblem = { problem = $0 }
        session.onMessage = { _ in arrived += 1 }
        if ctx.coverWatchRunning { return handOver(text, to: name, session: session, profile: profile, wait: wait) }
        let entry: OutboxEntry
        do { entry = try session.send(text, to: name) } catch { return CLI.fail(error.description) }
        let start = EventLoop.now()
        let poller = Poller(session, seconds: 0.25)
        let done = ClientContext.run(loop, seconds: wait) {
            poller.tick()
            let seconds = Double(EventLoop.now() - start) / 1e9
            Terminal.progress(session.submitted == 0 ? "sending to \(name) via your gateway… \(Format.fixed(seconds, 1)) s"
                              : "sent; waiting for \(name)'s gateway to acknowledge… \(Format.fixed(seconds, 1)) s")
            return delivered.contains(entry.id) || problem != nil
        }
        Terminal.clearProgress()
        if arrived > 0 { Terminal.line("\(arrived) new message\(arrived == 1 ? "" : "s") fetched meanwhile: see 'postern inbox'") }
        if delivered.contains(entry.id) { return 0 }
        if let problem {
            Terminal.error("postern: \(problem); retried by the next 'postern send' or 'postern inbox'")
        } else if ClientContext.interrupted || !done {
            Terminal.error("postern: no delivery acknowledgement yet; the message stays queued and is sent again if none comes ('postern outbox')")
        }
        return queuedStatus
    }

    /// With a cover-traffic `inbox --watch` running on this profile: queue only, let go of the profile,
    /// and watch the outbox until the watch has sent the message in a payload slot and its
    /// acknowledgement has come back.
    static func handOver(_ text: [UInt8], to name: String, session: Session, profile: Profile, wait: Double) -> Int32 {
        let entry: OutboxEntry
        do { entry = try session.queue(text, to: name) } catch { return CLI.fail(error.description) }
        session.close()
        profile.close()
        let start = EventLoop.now()
        while !ClientContext.interrupted && Double(EventLoop.now() - start) / 1e9 < wait {
            Terminal.progress("queued; your 'inbox --watch' sends it in its next payload slot (cover traffic)… "
                              + Format.fixed(Double(EventLoop.now() - start) / 1e9, 1) + " s")
            Clock.sleep(nanoseconds: 300_000_000)
            guard (try? profile.reopen(waitSeconds: 2)) != nil else { continue }
            let pending = ((try? profile.outbox()) ?? [entry]).contains { $0.id == entry.id }
            profile.close()
            if !pending {
                Terminal.clearProgress()
                Terminal.line("delivered to \(name): \"\(preview(text))\" (sent in a cover payload slot)")
                return 0
            }
        }
        Terminal.error("postern: queued; your running 'inbox --watch' sends it in a payload slot (not acknowledged yet)")
        return queuedStatus
    }

    static func inbox(_ args: [String]) -> Int32 {
        guard let (o, words) = CLI.parse(args, [], flags: ["--watch", "--json", "--all"], usage: inboxUsage), words.isEmpty else {
            Terminal.error(inboxUsage); return 2
        }
        let json = o["--json"] != nil
        let ctx = ClientContext(o)
        guard let profile = ctx.openProfile(), let (session, loop, config) = ctx.session(profile) else { return 1 }
        defer { session.close() }
        do {
            for gone in try profile.applyRetention(now: Clock.wallSeconds()) {
                Terminal.error("postern: gave up on message \(gone.id) to \(gone.contact) (undelivered past the retention period)")
            }
        } catch { return CLI.fail(error.description) }

        session.onDelivered = { showDelivered($0, json: json) }
        var problems: [String] = []
        session.onProblem = { problems.append($0) }

        // One fetch, then what is unread (or everything kept, with --all). Queued messages are sent
        // again first; their acknowledgements are waited for a few seconds.
        var fetched: Bool?
        Terminal.progress("fetching from your gateway…")
        let before = session.submitted, started = Clock.wallSeconds()
        // With cover traffic, queued messages leave only in payload slots (of this watch, or of one
        // already running).
        let coverSends = (o["--watch"] != nil && config.cover != nil) || ctx.coverWatchRunning
        if !coverSends { _ = try? session.flushOutbox() }
        session.poll { fetched = $0 }
        _ = ClientContext.run(loop, seconds: 30) { fetched != nil }
        if fetched == true && o["--watch"] == nil && !coverSends {
            let poller = Poller(session, seconds: 0.25)
            poller.last = EventLoop.now()
            _ = ClientContext.run(loop, seconds: 5) {
                poller.tick()
                return session.submitted == before
                    || !((try? profile.outbox()) ?? []).contains { $0.ackAddress != nil && $0.lastAttempt >= started }
            }
        }
        Terminal.clearProgress()
        let kept = (try? profile.inbox()) ?? []
        let toShow = o["--all"] != nil ? kept : kept.filter { !$0.seen }
        for m in toShow { show(m, json: json) }
        markSeen(profile)
        if !json && toShow.isEmpty { Terminal.line(o["--all"] != nil ? "no messages kept" : "no new messages") }
        for p in problems { Terminal.error("postern: " + p) }
        if fetched != true {
            Terminal.error("postern: cannot reach your gateway (\(session.client.gateway.clientAddress ?? "?")); showing what was fetched before")
            if o["--watch"] == nil { return queuedStatus }
        }
        guard o["--watch"] != nil else { return 0 }

        return watch(ctx, config: config, profile: profile, first: session, loop: loop, json: json, reachable: fetched == true)
    }

    static func show(_ m: InboxEntry, json: Bool) {
        let text = String(decoding: m.text, as: UTF8.self)
        if json {
            Terminal.line("{\"type\":\"message\",\"id\":\(m.id),\"from\":\(Format.json(m.contact)),\"sent\":\(m.sentAt),\"received\":\(m.receivedAt),\"text\":\(Format.json(text))}")
        } else {
            Terminal.line("\(Format.utc(m.sentAt > 0 ? m.sentAt : m.receivedAt))  \(m.contact): \(text)")
        }
    }

    static func showDelivered(_ e: OutboxEntry, json: Bool) {
        Terminal.clearProgress()
        if json {
            Terminal.line("{\"type\":\"delivered\",\"id\":\(e.id),\"to\":\(Format.json(e.contact)),\"text\":\(Format.json(String(decoding: e.text, as: UTF8.self)))}")
        } else {
            Terminal.line("delivered to \(e.contact): \"\(preview(e.text))\"")
        }
    }

    /// Marks everything in the inbox read, then applies the retention policy (0 days: read = gone).
    static func markSeen(_ profile: Profile) {
        guard var all = try? profile.inbox() else { return }
        for i in all.indices { all[i].seen = true }
        try? profile.save(inbox: all)
        _ = try? profile.applyRetention(now: Clock.wallSeconds())
    }

    static func outbox(_ args: [String]) -> Int32 {
        guard let (o, words) = CLI.parse(args, [], usage: outboxUsage), words.isEmpty else { Terminal.error(outboxUsage); return 2 }
        guard let profile = ClientContext(o).openProfile() else { return 1 }
        let entries: [OutboxEntry]
        do { entries = try profile.outbox() } catch { return CLI.fail(error.description) }
        if entries.isEmpty { Terminal.line("outbox empty: every message was delivered") }
        for e in entries {
            let state = e.ackAddress == nil ? "not sent yet"
                : "sent \(e.attempts)×, last \(Format.utc(e.lastAttempt)), waiting for the acknowledgement"
            Terminal.line("#\(e.id) to \(e.contact), written \(Format.utc(e.createdAt)): \"\(preview(e.text))\" (\(state))")
        }
        return 0
    }
}
