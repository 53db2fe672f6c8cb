/// Cover-traffic settings (docs/COVER.md). Rates are per second at full level; the scheduler scales all
/// of them by one quantised level chosen at each epoch boundary.
public struct CoverConfig: Equatable, Sendable {
    /// Client streams (Loopix): payload λP (real messages replace these dummies), loop λL (come back to the
    /// sender), drop λD (die at a random gateway).
    public var payloadRate: Double = 0.5
    public var loopRate: Double = 0.1
    public var dropRate: Double = 0.1
    /// Relay loops λM (a node's own loops through the network).
    public var relayLoopRate: Double = 0.0
    /// Bytes per day everything may use: each event's `eventBytes`, the polls and `otherBytesPerSecond`
    /// (a client: every byte to and from its gateway). Per-month budgets divide by 30.
    public var bytesPerDay: Int64 = 300 << 20
    public var packetBytes: Int = 2640
    /// What one event of each stream costs in all, both ways (nil: `packetBytes`, the packet alone, as a
    /// node's relay loops count). A client's payload slot also brings its acknowledgement back and
    /// deletes it; a loop comes back and is deleted; a drop is the packet and the gateway's answer.
    public var payloadEventBytes: Int?, loopEventBytes: Int?, dropEventBytes: Int?
    /// A client's poll: its cost (request and answer) and interval at full level; the interval grows as
    /// the level falls (`CoverScheduler.pollSeconds`), so polling stays inside the budget too. 0: none.
    public var pollBytes = 0
    public var pollSeconds: Double = 0
    /// Traffic that follows no level (the map's refresh, reconnections), spread over the day.
    public var otherBytesPerSecond: Double = 0
    /// Rates change only at these boundaries.
    public var epochSeconds: Int64 = 3600
    /// Below `lowBattery` percent while discharging the level is capped at `lowBatteryLevel`; below
    /// `criticalBattery` at `criticalBatteryLevel` (indices into `levels`).
    public var lowBattery = 50, criticalBattery = 20
    public var lowBatteryLevel = 2, criticalBatteryLevel = 4
    /// A loop not back within this many seconds counts as lost.
    public var loopTimeoutSeconds: Double = 60

    /// The quantised levels: few, so that a level change says little.
    public static let levels: [Double] = [1.0, 0.5, 0.25, 0.125, 0.0625]

    public init() {}

    public var totalRate: Double { payloadRate + loopRate + dropRate + relayLoopRate }

    /// What one event of `stream` costs (see `payloadEventBytes`).
    public func eventBytes(_ stream: CoverStream) -> Int {
        switch stream {
        case .payload: payloadEventBytes ?? packetBytes
        case .loop: loopEventBytes ?? packetBytes
        case .drop: dropEventBytes ?? packetBytes
        case .relayLoop: packetBytes
        }
    }

    /// Bytes a second at full level: the streams' events and the polls (not `otherBytesPerSecond`).
    public var fullBytesPerSecond: Double {
        payloadRate * Double(eventBytes(.payload)) + loopRate * Double(eventBytes(.loop)) + dropRate * Double(eventBytes(.drop))
            + relayLoopRate * Double(packetBytes) + (pollSeconds > 0 ? Double(pollBytes) / pollSeconds : 0)
    }
}

/// What the power supply reports.
public struct PowerState: Equatable, Sendable {
    /// nil: no battery (mains-powered board).
    public var batteryPercent: Int?
    public var discharging: Bool

    public init(batteryPercent: Int?, discharging: Bool) {
        self.batteryPercent = batteryPercent
        self.discharging = discharging
    }

    public static let mains = PowerState(batteryPercent: nil, discharging: false)
}
