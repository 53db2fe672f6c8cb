import PosternCover
import PosternCrypto
import PosternSystem
import Testing

/// A simulated day with an injected clock: the scheduler's events are replayed from midnight to
/// midnight, nothing waits for real time.
struct Day {
    let scheduler: CoverScheduler
    var events: [(time: Double, stream: CoverStream)] = []

    init(_ config: CoverConfig, seed: UInt8, power: PowerState = .mains, start: Double = 20_000 * 86_400) {
        let rng = SeededRandom(seed: [UInt8](repeating: seed, count: 32))
        scheduler = CoverScheduler(config: config, start: start, random: {
            var v: UInt64 = 0
            withUnsafeMutableBytes(of: &v) { rng.fill($0.baseAddress!, count: 8) }
            return v
        }, power: { power })
        while scheduler.nextTime < start + 86_400 { events.append(scheduler.take()) }
    }

    /// Bytes sent in a day by a client restarted every `hours` (as `inbox --watch` is, by a person or a
    /// phone), each run starting a new scheduler with what the last one spent (`carry`) or without.
    static func restarted(_ config: CoverConfig, every hours: Int, carry: Bool, seed: UInt8) -> Int {
        let rng = SeededRandom(seed: [UInt8](repeating: seed, count: 32))
        let random: () -> UInt64 = {
            var v: UInt64 = 0
            withUnsafeMutableBytes(of: &v) { rng.fill($0.baseAddress!, count: 8) }
            return v
        }
        let midnight: Double = 20_000 * 86_400
        var spent: CoverSpend?, events = 0
        for run in stride(from: 0, to: 24, by: hours) {
            let start = midnight + Double(run * 3600), end = min(start + Double(hours * 3600), midnight + 86_400)
            let s = CoverScheduler(config: config, start: start, spent: carry ? spent : nil, random: random, power: { .mains })
            while s.nextTime < end { _ = s.take(); events += 1 }
            spent = CoverSpend(encoded: s.spent.encoded)   // through the bytes the profile keeps
        }
        return events * config.packetBytes
    }

    var bytes: Int { events.count * scheduler.config.packetBytes }
}

@Suite struct CoverSimulationTests {
    /// Full rates would use about 2.7× the budget; the day's traffic stays within ±5% of it.
    @Test(arguments: [1, 2, 3])
    func dayStaysWithinBudget(seed: Int) {
        var config = CoverConfig()
        config.payloadRate = 1.0; config.loopRate = 0.2; config.dropRate = 0.2
        config.bytesPerDay = 120 << 20
        let day = Day(config, seed: UInt8(seed))
        let error = abs(Double(day.bytes) - Double(config.bytesPerDay)) / Double(config.bytesPerDay)
        #expect(error < 0.05, "bytes \(day.bytes) vs budget \(config.bytesPerDay): \(error)")
    }

    /// A client's day, every byte: each event's full cost (its packet, the answer, the acknowledgement or
    /// loop that comes back and its DELETE), a poll every `scheduler.pollSeconds` and the rest, as a
    /// simulated day replays them; returns the day's bytes.
    static func everyByte(_ planned: CoverConfig, actual: CoverConfig, seed: UInt8) -> Double {
        let rng = SeededRandom(seed: [UInt8](repeating: seed, count: 32))
        let start: Double = 20_000 * 86_400
        let s = CoverScheduler(config: planned, start: start, random: {
            var v: UInt64 = 0
            withUnsafeMutableBytes(of: &v) { rng.fill($0.baseAddress!, count: 8) }
            return v
        }, power: { .mains })
        var bytes = actual.otherBytesPerSecond * 86_400, nextPoll = start
        while true {
            let t = min(s.nextTime, nextPoll)
            guard t < start + 86_400 else { break }
            if nextPoll <= s.nextTime {
                s.polled()
                bytes += Double(actual.pollBytes)
                nextPoll += planned.pollSeconds > 0 ? s.pollSeconds : actual.pollSeconds
            } else {
                bytes += Double(actual.eventBytes(s.take().stream))
            }
        }
        return bytes
    }

    /// With each event's whole cost and the polls in its plan, a client's day stays within ±5% of the
    /// budget counting every byte (full rates would spend 3.4 times it); planned on packets alone (as
    /// before), the same day spent more than twice the budget.
    @Test(arguments: [1, 2, 3])
    func aClientsDayHoldsEveryByteInsideTheBudget(seed: Int) {
        var packets = CoverConfig()
        packets.payloadRate = 1.0; packets.loopRate = 0.2; packets.dropRate = 0.2
        packets.bytesPerDay = 200 << 20
        var costed = packets
        costed.payloadEventBytes = 5_866; costed.loopEventBytes = 7_333; costed.dropEventBytes = 2_687
        costed.pollBytes = 1_075; costed.pollSeconds = 2; costed.otherBytesPerSecond = 1.2
        #expect(costed.fullBytesPerSecond * 86_400 > 3.4 * Double(costed.bytesPerDay))
        let budget = Double(costed.bytesPerDay)
        let day = Self.everyByte(costed, actual: costed, seed: UInt8(seed))
        #expect(abs(day - budget) / budget < 0.05, "\(day) bytes vs budget \(budget)")
        let before = Self.everyByte(packets, actual: costed, seed: UInt8(seed))
        #expect(before > 2 * budget, "planned on packets alone: \(before)")
    }

    /// Restarting the client does not restart the day's budget: what a run spent is handed to the next
    /// (kept in the profile). Without it, restarts every 6/2/1 h overspent a 20 MiB budget by 89/121/137%.
    @Test func restartsKeepTheDaysBudget() {
        var config = CoverConfig()
        config.payloadRate = 1.0; config.loopRate = 0.2; config.dropRate = 0.2
        config.bytesPerDay = 20 << 20
        for hours in [6, 2, 1] {
            let carried = Day.restarted(config, every: hours, carry: true, seed: UInt8(hours))
            let fresh = Day.restarted(config, every: hours, carry: false, seed: UInt8(hours))
            let budget = Double(config.bytesPerDay)
            #expect(Double(carried) <= budget * 1.05, "every \(hours) h, carried: \(carried) of \(config.bytesPerDay)")
            #expect(Double(carried) >= budget * 0.9, "every \(hours) h, carried: \(carried) of \(config.bytesPerDay)")
            #expect(Double(fresh) > budget * 1.5, "every \(hours) h, not carried: \(fresh)")
        }
        // A spend from another day counts for nothing.
        let s = CoverScheduler(config: config, start: 20_001 * 86_400, spent: CoverSpend(day: 20_000, bytes: 1 << 40), power: { .mains })
        let fresh = CoverScheduler(config: config, start: 20_001 * 86_400, power: { .mains })
        #expect(s.spent == CoverSpend(day: 20_001, bytes: 0) && s.level == fresh.level)
        #expect(CoverSpend(encoded: [1, 2, 3]) == nil)
    }

    /// A generous budget runs at full rate all day.
    @Test func generousBudgetRunsFullRate() {
        var config = CoverConfig()
        config.bytesPerDay = 10 << 30
        let day = Day(config, seed: 9)
        #expect(day.scheduler.levelChanges.allSatisfy { $0.level == 0 })
        let expected = config.totalRate * 86_400
        #expect(abs(Double(day.events.count) - expected) / expected < 0.02)
    }

    /// Inter-send gaps of each stream, within epochs of one level, pass a Kolmogorov–Smirnov test against
    /// the configured exponential.
    @Test func gapsAreExponential() {
        var config = CoverConfig()
        config.payloadRate = 1.0; config.loopRate = 0.3; config.dropRate = 0.2
        config.bytesPerDay = 10 << 30   // one level all day, so one rate per stream
        let day = Day(config, seed: 4)
        for stream in [CoverStream.payload, .loop, .drop] {
            let times = day.events.filter { $0.stream == stream }.map(\.time)
            let gaps = zip(times.dropFirst(), times).map { $0 - $1 }
            let rate: Double = stream == .payload ? 1.0 : stream == .loop ? 0.3 : 0.2
            let (d, p) = KolmogorovSmirnov.exponential(gaps, rate: rate)
            #expect(p > 0.01, "\(stream): D = \(d), p = \(p)")
        }
        // The test has teeth: the same gaps against a rate 20% off are rejected.
        let times = day.events.filter { $0.stream == .payload }.map(\.time)
        let gaps = zip(times.dropFirst(), times).map { $0 - $1 }
        #expect(KolmogorovSmirnov.exponential(gaps, rate: 1.2).p < 0.001)
    }

    @Test func levelChangesOnlyAtEpochBoundaries() {
        var config = CoverConfig()
        config.bytesPerDay = 60 << 20
        let day = Day(config, seed: 5)
        #expect(day.scheduler.levelChanges.count >= 1)
        for change in day.scheduler.levelChanges { #expect(change.time % config.epochSeconds == 0) }
        // And no stream's rate moves within an epoch: every level used is one of the few quantised ones.
        #expect(Set(day.scheduler.levelChanges.map(\.level)).isSubset(of: Set(0..<CoverConfig.levels.count)))
    }

    /// Real messages go out in place of payload dummies: the schedule is the same with or without them.
    @Test func realMessagesDoNotChangeTheSchedule() {
        let config = CoverConfig()
        let quiet = Day(config, seed: 7)
        // Same seed; this time a sender takes payload slots for real messages whenever one is queued.
        var queue = 0, realSent = 0
        let busy = Day(config, seed: 7)
        var mixed: [(Double, CoverStream, Bool)] = []
        for (i, e) in busy.events.enumerated() {
            if i % 7 == 0 { queue += 1 }                 // a message arrives now and then
            var real = false
            if e.stream == .payload && queue > 0 { queue -= 1; realSent += 1; real = true }
            mixed.append((e.time, e.stream, real))
        }
        #expect(realSent > 100)
        #expect(quiet.events.count == busy.events.count)
        #expect(zip(quiet.events, mixed).allSatisfy { $0.time == $1.0 && $0.stream == $1.1 })
    }

    @Test func batteryPolicyCapsTheLevel() {
        var config = CoverConfig()
        config.bytesPerDay = 10 << 30
        let low = Day(config, seed: 2, power: PowerState(batteryPercent: 40, discharging: true))
        #expect(low.scheduler.levelChanges.allSatisfy { $0.level >= config.lowBatteryLevel })
        let critical = Day(config, seed: 2, power: PowerState(batteryPercent: 10, discharging: true))
        #expect(critical.scheduler.levelChanges.allSatisfy { $0.level >= config.criticalBatteryLevel })
        let charging = Day(config, seed: 2, power: PowerState(batteryPercent: 10, discharging: false))
        #expect(charging.scheduler.levelChanges.allSatisfy { $0.level == 0 })
        #expect(critical.events.count < low.events.count && low.events.count < charging.events.count)
    }

    @Test func loopMonitorCountsLossAndWarns() {
        let monitor = LoopMonitor(timeout: 10)
        var warnings = 0
        monitor.onSustainedLoss = { _ in warnings += 1 }
        for i in 0..<40 { monitor.sent([UInt8(i)], at: Double(i)) }
        for i in 0..<10 { monitor.returned([UInt8(i)]) }
        #expect(monitor.returned([200]) == nil)
        monitor.check(now: 100)
        #expect(monitor.returned == 10 && monitor.lost == 30 && warnings == 1)
    }

    @Test func batteryReaderWithoutBatteryIsMains() {
        #expect(Battery.read(root: "/nonexistent") == .mains)
    }
}
