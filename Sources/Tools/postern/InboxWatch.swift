import PosternClient
import PosternCover
import PosternCrypto
import PosternNetwork
import PosternNode
import PosternSystem

extension MessageCommand {
    /// `inbox --watch`: follows new messages until interrupted. Each cycle takes the profile, fetches
    /// (and, without cover traffic, sends what is due) and lets go again, so `postern send` can use the
    /// same profile in between (it waits for the lock). One gateway connection serves every cycle. With
    /// `[cover] enabled`, a `ClientCover` runs the Loopix streams and is the profile's only sender.
    static func watch(_ ctx: ClientContext, config: ClientConfig, profile: Profile, first session: Session,
                      loop: EventLoop, json: Bool, reachable: Bool) -> Int32 {
        let gateway = session.client.gateway, network = session.network, onDelivered = session.onDelivered
        // What earlier runs sent today counts against today's cover budget (a bad record: start from 0).
        // The budget holds every byte to and from the gateway: today's usage (all processes) counts.
        let today = Clock.wallSeconds() / 86_400
        var spentBefore = config.cover == nil ? nil : ((try? profile.coverSpent()) ?? nil)
        if config.cover != nil, let u = try? profile.usage(), u.day == today, u.today.total > spentBefore?.bytes ?? 0 {
            spentBefore = CoverSpend(day: today, bytes: u.today.total)
        }
        session.close()
        profile.close()
        let link = GatewayClient(loop: loop, gateway: gateway)
        defer { link.close() }
        var cover: ClientCover?
        if let coverConfig = config.cover {
            let c = ClientCover(courier: Courier(network: network, ownGateway: gateway.id, meanDelayMicros: Double(config.meanDelayMillis) * 1000),
                                client: link, config: ClientCover.costed(coverConfig, geometry: network.parameters.geometry,
                                                                         pollSeconds: Double(config.pollSeconds),
                                                                         mapBytes: network.descriptors.reduce(0) { $0 + 2 + $1.count },
                                                                         epochSeconds: Int(network.parameters.epochSeconds)),
                                loop: loop, spent: spentBefore)
            // A payload slot takes the next due message, if the profile is free right now; else a dummy.
            c.sendReal = {
                guard (try? profile.reopen(waitSeconds: 0)) != nil else { return false }
                defer { profile.close() }
                guard let s = try? Session(profile: profile, network: network, loop: loop,
                                           meanDelayMicros: Double(config.meanDelayMillis) * 1000, client: link) else { return false }
                s.resendAfterSeconds = Int64(config.resendAfterSeconds)
                return ((try? s.flushOutbox(limit: 1)) ?? 0) == 1
            }
            c.loops.onSustainedLoss = { lost in Terminal.error("postern: \(lost) of the last 20 loop packets did not come back: the network or your gateway is dropping traffic") }
            do { try Files.writeAtomically(ctx.coverMarker, Array("\(Process.id)\n".utf8), mode: 0o600) } catch {
                return CLI.fail("\(ctx.coverMarker): \(error.description)")
            }
            c.start()
            cover = c
        }
        defer { if cover != nil { try? Files.remove(ctx.coverMarker) } }
        // Without cover the gateway holds each poll until something arrives (or the hold ends); with
        // cover, polls leave every poll_seconds, so when something arrives does not show on the link.
        let hold = cover == nil ? UInt16(config.pollHoldSeconds) : 0
        if !json {
            Terminal.error((hold > 0 ? "watching for new messages (the gateway answers when one arrives)"
                                     : "watching for new messages every \(config.pollSeconds) s")
                           + (cover != nil ? ", with cover traffic (messages leave in payload slots)" : "") + " (Ctrl-C to stop)")
        }
        var reachable = reachable
        // The cover spend is saved at most once a minute (and at exit): a crash forgets a minute's worth.
        var savedSpend = spentBefore, savedAt = Clock.monotonicNanoseconds()
        // The connection's bytes go into the profile's usage every cycle; a running total every 10 minutes.
        var reportedAt = Clock.monotonicNanoseconds()
        func recordUsage() {
            let day = Clock.wallSeconds() / 86_400
            try? profile.record(usage: link.takeUsage(), day: day)
            if let u = try? profile.usage(), u.day == day { cover?.scheduler.charge(today: u.today.total, day: day) }
            guard Clock.monotonicNanoseconds() - reportedAt >= 600_000_000_000, !json,
                  let u = try? profile.usage(), u.day == day else { return }
            reportedAt = Clock.monotonicNanoseconds()
            Terminal.error("postern: \(UsageCommand.mebibytes(u.today.total)) to and from your gateway today ('postern usage' for more)")
        }
        func saveSpend(force: Bool) {
            guard let spent = cover?.scheduler.spent, spent != savedSpend,
                  force || Clock.monotonicNanoseconds() - savedAt >= 60_000_000_000 || spent.day != savedSpend?.day else { return }
            if (try? profile.save(coverSpent: spent)) != nil { savedSpend = spent; savedAt = Clock.monotonicNanoseconds() }
        }
        func cycleSession() -> Session? {
            do {
                let s = try Session(profile: profile, network: network, loop: loop,
                                    meanDelayMicros: Double(config.meanDelayMillis) * 1000, client: link)
                s.resendAfterSeconds = Int64(config.resendAfterSeconds)
                s.cover = cover
                s.onDelivered = onDelivered
                s.onProblem = { Terminal.error("postern: " + $0) }
                return s
            } catch {
                Terminal.error("postern: \(error.description)")
                return nil
            }
        }
        // The first cycle of a held watch starts at once (the first session just fetched); a fixed one
        // waits its interval. After an answer that was full the next poll leaves at once, after one with
        // items within a second, after a failure or an early empty answer in poll_seconds.
        // With cover the interval is the scheduler's: poll_seconds at full level, longer as the level
        // falls, so polls stay inside the budget too.
        func interval() -> Double { cover?.scheduler.pollSeconds ?? Double(config.pollSeconds) }
        var wait = hold > 0 ? 0 : interval()
        while !ClientContext.interrupted {
            if wait > 0 { _ = ClientContext.run(loop, seconds: wait) { false } }
            wait = interval()
            guard !ClientContext.interrupted else { break }
            // Take the profile to see what to watch (and, without cover, to send what is due), then let it
            // go while the gateway holds the poll, so 'postern send' can use it.
            do { try profile.reopen(waitSeconds: 2) } catch { continue }   // in use right now: next cycle
            var plan: Session.PollPlan?
            if let s = cycleSession() {
                saveSpend(force: false)
                recordUsage()
                // Once per epoch the view is refreshed over the same connection (new packet keys, nodes
                // joining and leaving), and kept in the profile.
                if network.isStale {
                    var refreshed: Int??
                    network.refresh(via: link) { refreshed = .some($0) }
                    _ = ClientContext.run(loop, seconds: 15) { refreshed != nil }
                    if case .some(.some) = refreshed { try? profile.save(network: network) }
                }
                if cover == nil { _ = try? s.flushOutbox() }
                _ = ClientContext.run(loop, seconds: 30) { s.inFlightCount == 0 }
                do { plan = try s.pollPlan() } catch { Terminal.error("postern: \(error.description)") }
            }
            profile.close()
            guard let plan else { continue }
            var answer: (items: [GatewayClient.Fetched], more: Bool, ok: Bool)?
            let started = Clock.monotonicNanoseconds()
            if plan.wanted.isEmpty { answer = ([], false, true) } else {
                cover?.scheduler.polled()
                link.poll(plan.wanted, holdSeconds: hold) { answer = ($0, $1, $2) }
            }
            // A connection that died without a word fails the poll 30 s after its hold (GatewayClient).
            _ = ClientContext.run(loop, seconds: Double(hold) + link.answerGraceSeconds + 5) { answer != nil }
            let ok = answer?.ok == true
            if let answer, !answer.items.isEmpty {
                wait = answer.more ? 0 : hold > 0 ? 1 : interval()
                // Take what came (each item is deleted at the gateway once stored); if the profile is busy,
                // it stays at the gateway and the next poll brings it again.
                if (try? profile.reopen(waitSeconds: 5)) != nil {
                    cycleSession()?.take(answer.items, plan: plan)
                    profile.close()
                }
            } else if ok && hold > 0 && Clock.monotonicNanoseconds() - started >= UInt64(hold) * 500_000_000 {
                wait = 0   // held (most of) its time: nothing new, ask again at once
            }
            do { try profile.reopen(waitSeconds: 2) } catch { continue }
            // Everything unread, including what a 'postern send' in between fetched.
            let unread = ((try? profile.inbox()) ?? []).filter { !$0.seen }
            for m in unread { show(m, json: json) }
            if !unread.isEmpty { markSeen(profile) }
            profile.close()
            if ok != reachable {
                reachable = ok
                Terminal.error(reachable ? "postern: gateway reachable again"
                                         : "postern: cannot reach your gateway; trying again every \(config.pollSeconds) s")
            }
        }
        cover?.stop()
        if (try? profile.reopen(waitSeconds: 2)) != nil {
            // The last bytes into the usage, the usage into the spend, the spend into the profile.
            let day = Clock.wallSeconds() / 86_400
            try? profile.record(usage: link.takeUsage(), day: day)
            if let u = try? profile.usage(), u.day == day { cover?.scheduler.charge(today: u.today.total, day: day) }
            saveSpend(force: true)
            if !json, let u = try? profile.usage() { Terminal.error("usage: \(UsageCommand.mebibytes(u.today.total)) to and from your gateway today") }
            profile.close()
        }
        if let c = cover {
            let s = c.sent
            Terminal.error("cover: \(s.real) messages and \(s.dummies) dummies in payload slots, \(s.loops) loops "
                           + "(\(c.loops.returned) back, \(c.loops.lost) lost), \(s.drops) drops")
        }
        return 0
    }
}
