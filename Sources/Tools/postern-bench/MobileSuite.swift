import PosternClient
import PosternCover
import PosternCrypto
import PosternLocalNetwork
import PosternNetwork
import PosternNode
import PosternSystem

/// Suite `mobile` (not part of `all`: about twelve minutes): what a phone on metered, flaky mobile data
/// pays and gets, with real clients against five real `postern node run` processes on loopback
/// (docs/BENCH.md, docs/CLIENT.md §3):
///
/// - `idle-bytes-per-day-N` (N = 1, 10, 100 contacts, cover off, as `inbox --watch` polls): the first
///   poll of the connection (handshake and every watched address), then held polls, each measured over
///   four holds of 2 s and counted at the default hold's 1 440 a day, and the map refreshed once an
///   epoch (24 a day), measured once. `idle-ratio-100-10`: 100 contacts against 10.
/// - `budget-error`: a simulated day of `mode = "metered"` with a 10 MiB budget (its full level would
///   spend 14.6 MB) replayed 300 times faster than real time (a day in 4.8 minutes; the mixnet's own
///   delays stay real): |every byte on the link − budget| / budget. `wakeups-per-hour-levelK`: bursts
///   of link activity more than 10 s (simulated) apart, per hour at cover level K (a radio-wake proxy).
/// - `delivery-p50` / `delivery-p99` / `delivery-lost`: 100 messages, one every 3 s, from one phone to
///   another, both through a shaping proxy of 256 kbit/s each way, 300 ms round trip and a dropped
///   connection every 2 minutes on average (seeded), cover off, the recipient holding polls: seconds
///   from writing to the recipient having it, and how many never arrived.
func mobileSuite() -> Suite {
    Suite(name: "mobile") {
        // Each part runs once, when the first of its lines is asked for (so --filter runs only what it names).
        let run = MobileRun()
        var lines: [BenchLine] = []
        for n in MobileRun.contactCounts {
            lines.append(.value("idle-bytes-per-day-\(n)") { (run.idle()[n] ?? 0, "B/day") })
        }
        lines.append(.value("idle-ratio-100-10") { (run.idle()[100]! / run.idle()[10]!, "x") })
        lines.append(.value("budget-error") { (run.day().error, "fraction") })
        for level in 0..<CoverConfig.levels.count {
            lines.append(.value("wakeups-per-hour-level\(level)") { (run.day().wakeups[level] ?? -1, "per hour (-1: level not used)") })
        }
        lines.append(.value("delivery-p50") { (MobileRun.quantile(run.delivery().latencies, 0.5), "s") })
        lines.append(.value("delivery-p99") { (MobileRun.quantile(run.delivery().latencies, 0.99), "s") })
        lines.append(.value("delivery-lost") { (Double(run.delivery().lost), "messages") })
        return lines
    }
}

final class MobileRun {
    static let contactCounts = [1, 10, 100]

    var network: (nodes: [NodeProcess], loop: EventLoop, base: String, clients: [ClientNetwork])?
    var idleResult: [Int: Double]?
    var dayResult: (error: Double, wakeups: [Int: Double])?
    var deliveryResult: (latencies: [Double], lost: Int)?
    var profiles = 0

    deinit { if let network { BenchNetwork.stop(network.nodes, network.base) } }

    static func quantile(_ values: [Double], _ q: Double) -> Double {
        guard !values.isEmpty else { return -1 }
        let sorted = values.sorted()
        return sorted[min(sorted.count - 1, Int(q * Double(sorted.count)))]
    }

    /// The five processes, started at the first need.
    func net() -> (nodes: [NodeProcess], loop: EventLoop, base: String, clients: [ClientNetwork]) {
        if let network { return network }
        let (nodes, loop, base) = BenchNetwork.start("mobile")
        let n = (nodes, loop, base, [BenchNetwork.clientNetwork(nodes[0], loop, "mobile"), BenchNetwork.clientNetwork(nodes[1], loop, "mobile")])
        network = n
        return n
    }

    func profile(_ name: String, gateway: Int) -> Profile {
        let n = net()
        profiles += 1
        do throws(ProfileError) {
            let p = try Profile.create(directory: n.base + "/\(profiles)-" + name, passphrase: Array("mobile bench".utf8))
            try p.save(ProfileSettings(gateway: n.nodes[gateway].secrets.id, createdAt: Clock.wallSeconds()))
            return p
        } catch { fail("mobile: profile \(name): \(error.description)") }
    }

    func idle() -> [Int: Double] {
        if let idleResult { return idleResult }
        let n = net(), peer = profile("peer", gateway: 1)
        var r: [Int: Double] = [:]
        for count in Self.contactCounts {
            Terminal.error("postern-bench: mobile: idle with \(count) contacts")
            r[count] = Self.idle(contacts: count, subject: profile("idle\(count)", gateway: 0), peer: peer, network: n.clients[0], loop: n.loop)
        }
        idleResult = r
        return r
    }

    func day() -> (error: Double, wakeups: [Int: Double]) {
        if let dayResult { return dayResult }
        let n = net()
        Terminal.error("postern-bench: mobile: a metered day in about 5 minutes")
        let r = Self.budgetDay(profile("metered", gateway: 0), network: n.clients[0], loop: n.loop)
        dayResult = r
        return r
    }

    func delivery() -> (latencies: [Double], lost: Int) {
        if let deliveryResult { return deliveryResult }
        let n = net()
        Terminal.error("postern-bench: mobile: 100 messages over a degraded link, about 6 minutes")
        let r = Self.delivery(profile("alice", gateway: 0), profile("bob", gateway: 1), networks: n.clients, loop: n.loop)
        deliveryResult = r
        return r
    }

    /// Runs the loop until `done` or `seconds` pass.
    static func run(_ loop: EventLoop, seconds: Double, until done: () -> Bool) -> Bool {
        let deadline = Clock.monotonicNanoseconds() &+ UInt64(seconds * 1e9)
        while !done() {
            if Clock.monotonicNanoseconds() >= deadline { return false }
            loop.run(until: EventLoop.now() &+ 5_000_000)
        }
        return true
    }

    static func idle(contacts: Int, subject: Profile, peer: Profile, network: ClientNetwork, loop: EventLoop) -> Double {
        let session: Session
        do throws(ProfileError) {
            for i in 0..<contacts { try subject.meet(peer, calling: "c\(i)", calledBy: "s\(contacts)-\(i)", now: Clock.wallSeconds()) }
            session = try Session(profile: subject, network: network, loop: loop, meanDelayMicros: 50_000)
        } catch { fail("mobile: idle: \(error.description)") }
        defer { session.close() }
        func polled(hold: UInt16) -> Int64 {
            _ = session.client.takeUsage()
            var ok: Bool?
            session.poll(holdSeconds: hold) { ok = $0 }
            guard run(loop, seconds: Double(hold) + 20, until: { ok != nil }), ok == true else { fail("mobile: idle: a poll failed") }
            return session.client.takeUsage().total
        }
        let first = polled(hold: 0)
        var held: Int64 = 0
        for _ in 0..<4 { held += polled(hold: 2) }
        _ = session.client.takeUsage()
        var refreshed: Int??
        network.refresh(via: session.client) { refreshed = .some($0) }
        guard run(loop, seconds: 20, until: { refreshed != nil }), case .some(.some) = refreshed else { fail("mobile: idle: the map refresh failed") }
        let map = session.client.takeUsage().total
        return Double(first) + Double(held) / 4 * (86_400.0 / 60) + Double(map) * 24
    }

    /// A metered day replayed fast: (budget error, wake-ups per hour by level).
    static func budgetDay(_ profile: Profile, network: ClientNetwork, loop: EventLoop) -> (Double, [Int: Double]) {
        guard let settings = try? profile.settings(), var own = network.gateway(settings.gateway) else { fail("mobile: day: no gateway") }
        let proxy: ShapingProxy
        do throws(SystemError) { proxy = try ShapingProxy(loop: loop, to: own.clientAddress ?? "", shape: ShapingProxy.Shape()) } catch {
            fail("mobile: day: proxy: \(error.description)")
        }
        defer { proxy.stop() }
        own.clientAddress = proxy.address
        let link = GatewayClient(loop: loop, gateway: own)
        let session: Session
        do throws(ProfileError) {
            session = try Session(profile: profile, network: network, loop: loop, meanDelayMicros: 20_000, client: link, owning: true)
        } catch { fail("mobile: day: \(error.description)") }
        defer { session.close() }
        guard let p = LatencyMode.metered.parameters else { fail("mobile: day: no metered mode") }
        var rates = p.cover()
        rates.bytesPerDay = 10 << 20
        rates.loopTimeoutSeconds = 3600   // simulated seconds: the mixnet's real delays are 300 times longer
        let config = ClientCover.costed(rates, geometry: network.parameters.geometry, pollSeconds: Double(p.pollSeconds),
                                        mapBytes: network.descriptors.reduce(0) { $0 + 2 + $1.count }, epochSeconds: 3600)
        let speed = 300.0, day = Clock.wallSeconds() / 86_400, midnight = Double(day * 86_400)
        let clock = ClientCover.ScheduleClock(start: midnight, speed: speed)
        let cover = ClientCover(courier: session.courier, client: link, config: config, loop: loop, clock: clock)
        session.cover = cover
        cover.start()
        var polling = false, nextPoll = midnight, nextMap = midnight + 3600
        var seen = 0
        _ = run(loop, seconds: 86_400 / speed + 60) {
            let now = clock.now
            if now >= nextPoll && !polling {
                polling = true
                cover.scheduler.polled()
                session.poll { _ in
                    polling = false
                    cover.scheduler.charge(today: link.usage.total, day: day)
                }
                nextPoll = now + cover.scheduler.pollSeconds
            }
            if now >= nextMap {
                network.refresh(via: link) { _ in }
                nextMap += 3600
            }
            if Int(now - midnight) / 3600 > seen {
                seen = Int(now - midnight) / 3600
                Terminal.error("postern-bench: mobile: simulated hour \(seen) of 24, level \(cover.scheduler.levelIndex), "
                               + "\(Format.fixed(Double(link.usage.total) / 1e6, 2)) MB")
            }
            return now >= midnight + 86_400
        }
        cover.stop()
        let total = Double(link.usage.total), budget = Double(config.bytesPerDay)
        // Wake-ups: bursts of link activity more than 10 simulated seconds apart, hour by hour.
        let times = proxy.activity.map { $0 * speed }
        var perLevel: [Int: (bursts: Int, hours: Int)] = [:]
        for hour in 0..<24 {
            let level = cover.scheduler.levelChanges.last { $0.time <= Int64(midnight) + Int64(hour * 3600) }?.level ?? 0
            let inHour = times.filter { $0 >= Double(hour * 3600) && $0 < Double((hour + 1) * 3600) }
            let bursts = inHour.isEmpty ? 0 : 1 + zip(inHour.dropFirst(), inHour).filter { $0 - $1 > 10 }.count
            perLevel[level, default: (0, 0)].bursts += bursts
            perLevel[level, default: (0, 0)].hours += 1
        }
        let u = link.usage, s = cover.sent
        Terminal.error("postern-bench: mobile: the day moved \(Format.fixed(total / 1e6, 2)) MB against a budget of \(Format.fixed(budget / 1e6, 2)) MB; "
                       + "estimated \(Format.fixed(Double(cover.scheduler.estimatedBytes) / 1e6, 2)) MB; "
                       + UsageCategory.all.map { "\($0.name) \(u.up[$0.index])/\(u.down[$0.index])" }.joined(separator: ", ")
                       + "; sent \(s.dummies) dummies, \(s.loops) loops, \(s.drops) drops")
        return (abs(total - budget) / budget, perLevel.mapValues { Double($0.bursts) / Double($0.hours) })
    }

    /// 100 messages between two phones on degraded links: (latencies, messages lost).
    static func delivery(_ alice: Profile, _ bob: Profile, networks: [ClientNetwork], loop: EventLoop) -> ([Double], Int) {
        do throws(ProfileError) { try alice.meet(bob, calling: "bob", calledBy: "alice", now: Clock.wallSeconds()) } catch {
            fail("mobile: delivery: \(error.description)")
        }
        var proxies: [ShapingProxy] = []
        var sessions: [Session] = []
        for (i, profile) in [alice, bob].enumerated() {
            guard let settings = try? profile.settings(), var gateway = networks[i].gateway(settings.gateway) else { fail("mobile: delivery: no gateway") }
            let shape = ShapingProxy.Shape(bitsPerSecond: 256_000, rttMillis: 300, dropEverySeconds: 120, seed: UInt64(i + 1))
            do throws(SystemError) { proxies.append(try ShapingProxy(loop: loop, to: gateway.clientAddress ?? "", shape: shape)) } catch {
                fail("mobile: delivery: proxy: \(error.description)")
            }
            gateway.clientAddress = proxies[i].address
            do throws(ProfileError) {
                let s = try Session(profile: profile, network: networks[i], loop: loop, meanDelayMicros: 50_000,
                                    client: GatewayClient(loop: loop, gateway: gateway), owning: true)
                s.resendAfterSeconds = 60
                sessions.append(s)
            } catch { fail("mobile: delivery: \(error.description)") }
        }
        defer {
            for s in sessions { s.close() }
            for p in proxies { p.stop() }
        }
        let (a, b) = (sessions[0], sessions[1])
        var written: [Int: UInt64] = [:], latencies: [Int: Double] = [:]
        b.onMessage = { entry in
            let words = String(decoding: entry.text, as: UTF8.self).split(separator: " ")
            if let n = UInt64(words.last ?? ""), let at = written[Int(n)], latencies[Int(n)] == nil {
                let id = Int(n)
                latencies[id] = Double(Clock.monotonicNanoseconds() - at) / 1e9
            }
        }
        // Each phone holds a poll open while it can (as `inbox --watch` without cover does); after a
        // failure it asks again in a second. Alice's polls bring her acknowledgements.
        var pollingNow = [false, false], retryAt: [UInt64] = [0, 0]
        let messages = 100
        var next = Clock.monotonicNanoseconds(), sent = 0, lastFlush: UInt64 = 0
        _ = run(loop, seconds: Double(messages) * 3 + 180) {
            let now = Clock.monotonicNanoseconds()
            for (i, s) in sessions.enumerated() where !pollingNow[i] && now >= retryAt[i] {
                pollingNow[i] = true
                s.poll(holdSeconds: 60) { ok in
                    pollingNow[i] = false
                    if !ok { retryAt[i] = Clock.monotonicNanoseconds() &+ 1_000_000_000 }
                }
            }
            if sent < messages && now >= next {
                written[sent] = now
                _ = try? a.queue(Array("mobile message \(sent)".utf8), to: "bob")
                sent += 1
                next = now &+ 3_000_000_000
                lastFlush = 0
            }
            // As a watch cycle does: what is due (new, failed, or unacknowledged for a minute) goes out.
            if now &- lastFlush >= 1_000_000_000 {
                lastFlush = now
                _ = try? a.flushOutbox()
            }
            return sent == messages && latencies.count == messages
        }
        Terminal.error("postern-bench: mobile: \(latencies.count) of \(messages) delivered; connections dropped \(proxies[0].drops) + \(proxies[1].drops) times")
        return (Array(latencies.values), messages - latencies.count)
    }
}
