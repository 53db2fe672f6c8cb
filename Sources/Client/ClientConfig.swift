import PosternCover
import PosternCrypto
import PosternNetwork
import PosternPacket
import PosternSystem

/// Which network a profile talks to (`client.toml`, docs/CLIENT.md):
///
///     [network]
///     gateway = "host:port#link key"        # a gateway's client address and link key ('postern node info')
///     epoch_seconds = 3600                  # the network's parameters (docs/PROTOCOL.md §5.1)
///     layers = 3
///     max_hops = 5
///     payload_bytes = 2048
///     network_key = ""                      # certified networks: the network key (64 hex); empty = open
///     layer_rule = 1                        # 1: mixes dealt to layers; 2: each mix's layer from its own hash
///     push_work = 0                         # layer rule 2: bits of proof of work per node push (§5.9)
///     mean_delay_ms = 50                    # mean mixing delay per hop chosen for our packets
///     [client]
///     mode = "custom"                       # "fast" | "strong" | "metered": fixes the delay, poll and cover keys
///     resend_after_seconds = 120            # an unacknowledged message is sent again after this
///     poll_seconds = 5                      # how often 'inbox --watch' fetches (with cover, or hold 0)
///     poll_hold_seconds = 60                # without cover: the gateway holds a poll until something
///                                           # arrives, at most this long (0: poll every poll_seconds)
///     [cover]                               # Loopix streams while 'inbox --watch' runs
///     enabled = false
///     payload_per_minute = 30               # payload slots (real messages replace dummies)
///     loop_per_minute = 6
///     drop_per_minute = 6
///     bytes_per_day_mb = 300                # uplink budget of all streams
///     epoch_seconds = 3600                  # rates change only at these boundaries
///
/// No map file: the client fetches the signed descriptors from the gateway and keeps them in the profile.
public struct ClientConfig: Equatable {
    public var gateway: Peer
    public var parameters: NetworkParameters
    public var meanDelayMillis: Int = 50
    public var resendAfterSeconds: Int = 120
    public var pollSeconds: Int = 5
    /// Without cover, `inbox --watch` leaves each poll open at the gateway this long (0: fixed interval).
    public var pollHoldSeconds: Int = 60
    /// Cover traffic for the long-running client; nil = off.
    public var cover: CoverConfig?
    /// A named mode fixes `meanDelayMillis`, `pollSeconds` and the cover rates (`apply(_:)`).
    public private(set) var mode: LatencyMode = .custom

    public static let keys = ["network.gateway"] + NetworkParameters.configKeys.map { "network." + $0 } + ["network.mean_delay_ms",
                              "client.mode", "client.resend_after_seconds", "client.poll_seconds", "client.poll_hold_seconds",
                              "cover.enabled", "cover.payload_per_minute", "cover.loop_per_minute", "cover.drop_per_minute",
                              "cover.bytes_per_day_mb", "cover.epoch_seconds"]

    public init(gateway: Peer, parameters: NetworkParameters) {
        self.gateway = gateway
        self.parameters = parameters
    }

    public init(text: String, path: String) throws(ConfigError) {
        let f = try ConfigFile(text: text)
        try f.checkKeys(Self.keys)
        let gatewayText = try f.string("network.gateway", default: "")
        guard let peer = Peer(gatewayText) else {
            throw ConfigError(line: f.entries["network.gateway"]?.line ?? 0,
                              message: "'network.gateway' must be \"host:port#<link key, 64 hex>\" ('postern node info' prints it)")
        }
        let parameters = try NetworkParameters(config: f, prefix: "network.")
        self.init(gateway: peer, parameters: parameters)
        meanDelayMillis = try f.integer("network.mean_delay_ms", default: meanDelayMillis, range: 0...60_000)
        resendAfterSeconds = try f.integer("client.resend_after_seconds", default: resendAfterSeconds, range: 1...604_800)
        pollSeconds = try f.integer("client.poll_seconds", default: pollSeconds, range: 1...3600)
        pollHoldSeconds = try f.integer("client.poll_hold_seconds", default: pollHoldSeconds, range: 0...Int(PollRequest.maxHoldSeconds))
        var c = CoverConfig()
        func perMinute(_ key: String, _ rate: Double) throws(ConfigError) -> Double {
            Double(try f.integer(key, default: Int((rate * 60).rounded()), range: 0...6000)) / 60
        }
        c.payloadRate = try perMinute("cover.payload_per_minute", c.payloadRate)
        c.loopRate = try perMinute("cover.loop_per_minute", c.loopRate)
        c.dropRate = try perMinute("cover.drop_per_minute", c.dropRate)
        c.bytesPerDay = Int64(try f.integer("cover.bytes_per_day_mb", default: Int(c.bytesPerDay >> 20), range: 1...1_000_000)) << 20
        c.epochSeconds = Int64(try f.integer("cover.epoch_seconds", default: Int(c.epochSeconds), range: 60...86_400))
        guard 86_400 % c.epochSeconds == 0 else {
            throw ConfigError(line: f.entries["cover.epoch_seconds"]?.line ?? 0, message: "'cover.epoch_seconds' must divide a day (86400)")
        }
        guard c.payloadRate > 0 else {
            throw ConfigError(line: f.entries["cover.payload_per_minute"]?.line ?? 0, message: "'cover.payload_per_minute' must be at least 1 (messages leave in payload slots)")
        }
        if try f.boolean("cover.enabled", default: false) { cover = c }
        let modeText = try f.string("client.mode", default: "custom")
        guard let mode = LatencyMode(name: modeText) else {
            throw ConfigError(line: f.entries["client.mode"]?.line ?? 0, message: "'client.mode' must be \"fast\", \"strong\", \"metered\" or \"custom\"")
        }
        // A mode's own budget (metered: 20 MiB a day) unless the file sets one.
        if let mb = mode.parameters?.budgetMB, f.entries["cover.bytes_per_day_mb"] == nil { c.bytesPerDay = Int64(mb) << 20 }
        if mode != .custom {
            for key in LatencyMode.governedKeys {
                if let line = f.entries[key]?.line {
                    throw ConfigError(line: line, message: "'\(key)' is set by mode \"\(modeText)\"; remove it, or use mode = \"custom\"")
                }
            }
        }
        apply(mode, base: c)
    }

    /// Switches to `mode`: a named one sets the per-hop delay, the poll interval and the cover streams
    /// (cover on, with `base`'s budget and epoch); `custom` keeps what is set.
    public mutating func apply(_ mode: LatencyMode, base: CoverConfig? = nil) {
        self.mode = mode
        guard let p = mode.parameters else { return }
        meanDelayMillis = p.meanDelayMillis
        pollSeconds = p.pollSeconds
        cover = p.cover(base ?? cover ?? CoverConfig())
    }

    public var text: String {
        let c = cover ?? CoverConfig()
        // A named mode's keys are not written: the mode sets them (and the parser refuses them beside it).
        let custom = mode == .custom
        var t = "# Which network a Postern profile uses (docs/CLIENT.md).\n[network]\n"
        t += "gateway = \"\(gateway.text)\"\n\(parameters.configLines)\n"
        if custom { t += "mean_delay_ms = \(meanDelayMillis)\n" }
        t += "\n[client]\n"
        t += "# \"fast\" (median under 5 s), \"strong\" (under 10 s) or \"metered\" (20 MB a day) set the delay, poll and cover keys (docs/ANONYMITY.md).\n"
        t += "mode = \"\(mode.name)\"\n"
        t += "resend_after_seconds = \(resendAfterSeconds)\n"
        if custom { t += "poll_seconds = \(pollSeconds)\n" }
        t += "# Without cover the gateway holds each poll until something arrives, at most this long (0: poll every poll_seconds).\n"
        t += "poll_hold_seconds = \(pollHoldSeconds)\n"
        t += "\n[cover]\n# Loopix cover streams while 'postern inbox --watch' runs; messages then leave in payload slots.\n"
        if custom {
            t += "enabled = \(cover != nil)\n"
            t += "payload_per_minute = \(Int((c.payloadRate * 60).rounded()))\n"
            t += "loop_per_minute = \(Int((c.loopRate * 60).rounded()))\n"
            t += "drop_per_minute = \(Int((c.dropRate * 60).rounded()))\n"
        }
        t += "bytes_per_day_mb = \(c.bytesPerDay >> 20)\nepoch_seconds = \(c.epochSeconds)\n"
        return t
    }
}

/// Why a client could not be set up (config, network); one line.
public struct ClientSetupError: Error, Equatable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
