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
        let spentBefore = config.cover == nil ? nil : ((try? profile.coverSpent()) ?? nil)
        session.close()
        profile.close()
        let link = GatewayClient(loop: loop, gateway: gateway)
        defer { link.close() }
        var cover: ClientCover?
        if let coverConfig = config.cover {
            let c = ClientCover(courier: Courier(network: network, ownGateway: gateway.id, meanDelayMicros: Double(config.meanDelayMillis) * 1000),
                                client: link, config: coverConfig, loop: loop, spent: spentBefore)
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
        if !json {
            Terminal.error("watching for new messages every \(config.pollSeconds) s"
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
        while !ClientContext.interrupted {
            _ = ClientContext.run(loop, seconds: Double(config.pollSeconds)) { false }
            guard !ClientContext.interrupted else { break }
            var coverPolled = cover == nil
            cover?.poll { coverPolled = true }
            do { try profile.reopen(waitSeconds: 2) } catch { continue }   // in use right now: next cycle
            defer { profile.close() }
            let cycle: Session
            do {
                cycle = try Session(profile: profile, network: network, loop: loop,
                                    meanDelayMicros: Double(config.meanDelayMillis) * 1000, client: link)
            } catch {
                Terminal.error("postern: \(error.description)")
                continue
            }
            cycle.resendAfterSeconds = Int64(config.resendAfterSeconds)
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
            cycle.onDelivered = onDelivered
            cycle.onProblem = { Terminal.error("postern: " + $0) }
            var done: Bool?
            if cover == nil { _ = try? cycle.flushOutbox() }
            cycle.poll { done = $0 }
            _ = ClientContext.run(loop, seconds: 30) { done != nil && cycle.inFlightCount == 0 && coverPolled }
            // Everything unread, including what a 'postern send' in between fetched.
            let unread = ((try? profile.inbox()) ?? []).filter { !$0.seen }
            for m in unread { show(m, json: json) }
            if !unread.isEmpty { markSeen(profile) }
            if (done == true) != reachable {
                reachable = done == true
                Terminal.error(reachable ? "postern: gateway reachable again"
                                         : "postern: cannot reach your gateway; trying again every \(config.pollSeconds) s")
            }
        }
        cover?.stop()
        if (try? profile.reopen(waitSeconds: 2)) != nil {
            saveSpend(force: true)
            try? profile.record(usage: link.takeUsage(), day: Clock.wallSeconds() / 86_400)
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
