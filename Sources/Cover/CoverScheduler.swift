import PosternCrypto
import PosternSystem

/// What a day's schedule has sent so far: kept by the caller (a client keeps it in its profile) and handed
/// to the next scheduler, so a restart does not start the day's budget again.
public struct CoverSpend: Equatable, Sendable {
    /// Days since 1970-01-01 (UTC).
    public var day: Int64
    public var bytes: Int64
    public init(day: Int64, bytes: Int64) { self.day = day; self.bytes = bytes }

    /// 16 bytes: day ‖ bytes, both big-endian.
    public var encoded: [UInt8] {
        var out: [UInt8] = []
        for v in [day, bytes] { for i in (0..<8).reversed() { out.append(UInt8(truncatingIfNeeded: v >> (8 * i))) } }
        return out
    }

    public init?(encoded b: [UInt8]) {
        guard b.count == 16 else { return nil }
        var day: Int64 = 0, bytes: Int64 = 0
        for i in 0..<8 { day = day << 8 | Int64(b[i]); bytes = bytes << 8 | Int64(b[8 + i]) }
        guard bytes >= 0 else { return nil }
        self.init(day: day, bytes: bytes)
    }
}

/// Which stream an event belongs to.
public enum CoverStream: Equatable, Sendable {
    case payload, loop, drop, relayLoop
}

/// Poisson cover-traffic schedule inside a byte budget.
///
/// The streams are independent Poisson processes; their superposition is one process of rate Λ whose
/// events are assigned to a stream with probability λ_s/Λ. All rates are the configured rates × one level
/// from `CoverConfig.levels`, chosen only at epoch boundaries: each epoch gets the budget still unspent in
/// the current day divided by the epochs left in it, and the highest level that fits, capped by the
/// battery policy. So rates change rarely and between few values, and the day's traffic tracks the
/// budget. Whether a real message is waiting never changes when events happen: the caller sends it in
/// place of the next payload dummy.
public final class CoverScheduler {
    public let config: CoverConfig
    let random: () -> UInt64
    let power: () -> PowerState
    public private(set) var levelIndex = 0
    public private(set) var epoch: Int64 = -1
    /// Seconds (wall clock) of the next event, and its stream.
    public private(set) var nextTime: Double = 0
    public private(set) var nextStream: CoverStream = .payload
    var day: Int64 = -1
    public private(set) var bytesToday: Int64 = 0
    /// (time, level) at every level change, for tests and metrics.
    public private(set) var levelChanges: [(time: Int64, level: Int)] = []

    /// `spent`: what an earlier schedule sent (counted only if it is of the day `start` falls in).
    public init(config: CoverConfig, start: Double, spent: CoverSpend? = nil,
                random: @escaping () -> UInt64 = { Random.uint64Source() },
                power: @escaping () -> PowerState = { Battery.read() }) {
        precondition(config.totalRate > 0 && config.epochSeconds > 0 && 86_400 % config.epochSeconds == 0)
        self.config = config
        self.random = random
        self.power = power
        if let spent, spent.day == Int64(start) / 86_400 { day = spent.day; bytesToday = spent.bytes }
        enterEpoch(at: start)
        nextTime = start
        schedule()
    }

    public var level: Double { CoverConfig.levels[levelIndex] }

    /// The day's spend so far, to hand to the next scheduler.
    public var spent: CoverSpend { CoverSpend(day: day, bytes: bytesToday) }

    func rate(_ s: CoverStream) -> Double {
        switch s {
        case .payload: config.payloadRate
        case .loop: config.loopRate
        case .drop: config.dropRate
        case .relayLoop: config.relayLoopRate
        }
    }

    /// Picks the level for the epoch containing `t` (only ever called at a boundary).
    func enterEpoch(at t: Double) {
        let seconds = Int64(t)
        epoch = seconds / config.epochSeconds
        let today = seconds / 86_400
        if today != day { day = today; bytesToday = 0 }
        let epochsLeft = Double((86_400 - seconds % 86_400 + config.epochSeconds - 1) / config.epochSeconds)
        let epochSeconds = Double(config.epochSeconds)
        let target = Double(max(0, config.bytesPerDay - bytesToday)) / max(1, epochsLeft) - config.otherBytesPerSecond * epochSeconds
        let fullEpochBytes = config.fullBytesPerSecond * epochSeconds
        var index = CoverConfig.levels.count - 1
        for (i, l) in CoverConfig.levels.enumerated() where l * fullEpochBytes <= target { index = i; break }
        let p = power()
        if p.discharging, let percent = p.batteryPercent {
            if percent < config.criticalBattery { index = max(index, config.criticalBatteryLevel) }
            else if percent < config.lowBattery { index = max(index, config.lowBatteryLevel) }
        }
        index = min(index, CoverConfig.levels.count - 1)
        if index != levelIndex || levelChanges.isEmpty { levelChanges.append((epoch * config.epochSeconds, index)) }
        levelIndex = index
    }

    func uniform() -> Double { (Double(random() >> 11) + 0.5) / 9_007_199_254_740_992.0 }

    /// Draws the next event after `nextTime`. An exponential gap that crosses an epoch boundary restarts
    /// at the boundary with the new rate (memorylessness keeps each epoch's process Poisson).
    func schedule() {
        var t = nextTime
        while true {
            let total = config.totalRate * level
            let gap = Exponential.sample(mean: 1 / total, uniform53: random())
            let boundary = Double((epoch + 1) * config.epochSeconds)
            if t + gap >= boundary {
                t = boundary
                enterEpoch(at: boundary)
                continue
            }
            t += gap
            break
        }
        var pick = uniform() * config.totalRate
        nextStream = .relayLoop
        for s in [CoverStream.payload, .loop, .drop] {
            if pick < rate(s) { nextStream = s; break }
            pick -= rate(s)
        }
        nextTime = t
    }

    /// Consumes the due event (the caller sends one packet for it) and schedules the next. The event's
    /// cost (`CoverConfig.eventBytes`) counts at once, until `charge` replaces it with what was measured.
    public func take() -> (time: Double, stream: CoverStream) {
        let event = (nextTime, nextStream)
        bytesToday += Int64(config.eventBytes(nextStream))
        estimatedBytes += Int64(config.eventBytes(nextStream))
        schedule()
        return event
    }

    /// The interval between polls at the current level: `config.pollSeconds` at full level, longer in
    /// proportion as the level falls.
    public var pollSeconds: Double { config.pollSeconds / level }

    /// A poll left (its estimated cost counts until `charge`).
    public func polled() {
        bytesToday += Int64(config.pollBytes)
        estimatedBytes += Int64(config.pollBytes)
    }

    /// What this schedule's events and polls were estimated to cost, in all (never replaced by `charge`).
    public private(set) var estimatedBytes: Int64 = 0

    /// What was measured today in all (a client: every byte to and from its gateway today, from any of
    /// its processes) replaces the estimates: the next epoch's level is planned from it.
    public func charge(today bytes: Int64, day: Int64) {
        guard day == self.day else { return }
        bytesToday = bytes
    }
}

extension Random {
    /// 64 random bits from the kernel (the default randomness of the scheduler).
    public static func uint64Source() -> UInt64 { uint64() }
}
