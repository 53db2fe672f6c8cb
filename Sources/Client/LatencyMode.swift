import PosternCover

/// The named latency/anonymity modes (docs/ANONYMITY.md): each a fixed set of the parameters that
/// decide a message's latency and how well it hides, chosen per profile in client.toml (`[client] mode`).
/// `custom` leaves those parameters to the file's own keys (and cover to `cover.enabled`).
///
/// A message's latency is the wait for the next payload slot (exponential, mean 1/λP), the per-hop
/// delays of its five hops (entry gateway, three mixes, the recipient's gateway; each exponential with
/// the mean below) and the recipient's wait for its next fetch (uniform over the fetch interval).
/// The numbers each mode reaches are measured by `postern simulate anonymity` and in a loopback network
/// of real processes (`postern-bench latency`); docs/ANONYMITY.md has them.
/// (A plain enum with explicit switches, not a String raw-value enum: see the ObjectOutliner note in
/// cross/README.md.)
public enum LatencyMode: Equatable, Sendable {
    /// Median ≤ 5 s end to end: short mixing delays, the default cover rates.
    case fast
    /// Median ≤ 10 s: four times the mixing delay and twice the loop and drop cover.
    case strong
    /// For metered mobile data: a 20 MiB daily budget for everything, a payload slot a minute (sending
    /// still hidden: messages leave only in slots), few loops and drops, a poll every 30 s, and 5 s per
    /// hop so that the mixes' pools hold enough of so little traffic. A minute or two of latency.
    case metered
    /// The file's own `mean_delay_ms`, `poll_seconds` and `[cover]` keys.
    case custom

    /// As client.toml and the command line name it.
    public var name: String {
        switch self {
        case .fast: "fast"
        case .strong: "strong"
        case .metered: "metered"
        case .custom: "custom"
        }
    }

    public init?(name: String) {
        switch name {
        case "fast": self = .fast
        case "strong": self = .strong
        case "metered": self = .metered
        case "custom": self = .custom
        default: return nil
        }
    }

    /// What a named mode fixes; nil for `custom`.
    public struct Parameters: Equatable, Sendable {
        public var meanDelayMillis: Int
        public var payloadPerHour: Int
        public var loopPerHour: Int
        public var dropPerHour: Int
        public var pollSeconds: Int
        /// The daily budget the mode brings when the file sets none: what it costs at full level, every
        /// byte counted (`ClientCover.costed`), with a little to spare (metered: its 20 MiB).
        public var budgetMB: Int?

        /// The cover streams at these rates (the budget and epoch left as `base` has them).
        public func cover(_ base: CoverConfig = CoverConfig()) -> CoverConfig {
            var c = base
            c.payloadRate = Double(payloadPerHour) / 3600
            c.loopRate = Double(loopPerHour) / 3600
            c.dropRate = Double(dropPerHour) / 3600
            return c
        }

        /// Uplink bytes a day at full rate (every stream's packets; the budget may lower the level).
        public func bytesPerDay(packetBytes: Int) -> Int {
            (payloadPerHour + loopPerHour + dropPerHour) * 24 * packetBytes
        }
    }

    public var parameters: Parameters? {
        switch self {
        case .fast: Parameters(meanDelayMillis: 200, payloadPerHour: 1800, loopPerHour: 360, dropPerHour: 360, pollSeconds: 2, budgetMB: 400)
        case .strong: Parameters(meanDelayMillis: 800, payloadPerHour: 1800, loopPerHour: 720, dropPerHour: 720, pollSeconds: 4, budgetMB: 450)
        case .metered: Parameters(meanDelayMillis: 5000, payloadPerHour: 60, loopPerHour: 12, dropPerHour: 12, pollSeconds: 30, budgetMB: 20)
        case .custom: nil
        }
    }

    /// The client.toml keys a named mode sets (giving one of them as well is refused).
    public static let governedKeys = ["network.mean_delay_ms", "client.poll_seconds", "cover.enabled",
                                      "cover.payload_per_minute", "cover.loop_per_minute", "cover.drop_per_minute"]
}
