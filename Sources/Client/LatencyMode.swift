import PosternCover

/// The two named latency/anonymity modes (docs/ANONYMITY.md): each a fixed set of the parameters that
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
    /// The file's own `mean_delay_ms`, `poll_seconds` and `[cover]` keys.
    case custom

    /// As client.toml and the command line name it.
    public var name: String {
        switch self {
        case .fast: "fast"
        case .strong: "strong"
        case .custom: "custom"
        }
    }

    public init?(name: String) {
        switch name {
        case "fast": self = .fast
        case "strong": self = .strong
        case "custom": self = .custom
        default: return nil
        }
    }

    /// What a named mode fixes; nil for `custom`.
    public struct Parameters: Equatable, Sendable {
        public var meanDelayMillis: Int
        public var payloadPerMinute: Int
        public var loopPerMinute: Int
        public var dropPerMinute: Int
        public var pollSeconds: Int

        /// The cover streams at these rates (the budget and epoch left as `base` has them).
        public func cover(_ base: CoverConfig = CoverConfig()) -> CoverConfig {
            var c = base
            c.payloadRate = Double(payloadPerMinute) / 60
            c.loopRate = Double(loopPerMinute) / 60
            c.dropRate = Double(dropPerMinute) / 60
            return c
        }

        /// Uplink bytes a day at full rate (every stream's packets; the budget may lower the level).
        public func bytesPerDay(packetBytes: Int) -> Int {
            (payloadPerMinute + loopPerMinute + dropPerMinute) * 60 * 24 * packetBytes
        }
    }

    public var parameters: Parameters? {
        switch self {
        case .fast: Parameters(meanDelayMillis: 200, payloadPerMinute: 30, loopPerMinute: 6, dropPerMinute: 6, pollSeconds: 2)
        case .strong: Parameters(meanDelayMillis: 800, payloadPerMinute: 30, loopPerMinute: 12, dropPerMinute: 12, pollSeconds: 4)
        case .custom: nil
        }
    }

    /// The client.toml keys a named mode sets (giving one of them as well is refused).
    public static let governedKeys = ["network.mean_delay_ms", "client.poll_seconds", "cover.enabled",
                                      "cover.payload_per_minute", "cover.loop_per_minute", "cover.drop_per_minute"]
}
