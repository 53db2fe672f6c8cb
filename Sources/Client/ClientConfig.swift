import PosternCover
import PosternCrypto
import PosternNetwork
import PosternSystem

/// Which network a profile talks to (`client.toml`, docs/CLIENT.md):
///
///     [network]
///     topology = "/path/to/topology.txt"   # the signed topology
///     directory_key = "64 hex digits"       # the directory's Ed25519 key that signs it
///     mean_delay_ms = 50                    # mean mixing delay per hop chosen for our packets
///     [client]
///     resend_after_seconds = 120            # an unacknowledged message is sent again after this
///     poll_seconds = 5                      # how often 'inbox --watch' fetches
///     [cover]                               # Loopix streams while 'inbox --watch' runs
///     enabled = false
///     payload_per_minute = 30               # payload slots (real messages replace dummies)
///     loop_per_minute = 6
///     drop_per_minute = 6
///     bytes_per_day_mb = 300                # uplink budget of all streams
///     epoch_seconds = 3600                  # rates change only at these boundaries
///
/// Relative topology paths are relative to the config file's directory.
public struct ClientConfig: Equatable {
    public var topologyFile: String
    public var directoryKey: [UInt8]
    public var meanDelayMillis: Int = 50
    public var resendAfterSeconds: Int = 120
    public var pollSeconds: Int = 5
    /// Cover traffic for the long-running client; nil = off.
    public var cover: CoverConfig?

    public static let keys = ["network.topology", "network.directory_key", "network.mean_delay_ms",
                              "client.resend_after_seconds", "client.poll_seconds",
                              "cover.enabled", "cover.payload_per_minute", "cover.loop_per_minute", "cover.drop_per_minute",
                              "cover.bytes_per_day_mb", "cover.epoch_seconds"]

    public init(topologyFile: String, directoryKey: [UInt8]) {
        self.topologyFile = topologyFile
        self.directoryKey = directoryKey
    }

    public init(text: String, path: String) throws(ConfigError) {
        let f = try ConfigFile(text: text)
        try f.checkKeys(Self.keys)
        var topology = try f.string("network.topology", default: "")
        guard !topology.isEmpty else { throw ConfigError(line: 0, message: "'network.topology' is required") }
        if !topology.hasPrefix("/"), let slash = path.lastIndex(of: "/") { topology = String(path[...slash]) + topology }
        let keyText = try f.string("network.directory_key", default: "")
        guard let key = Hex.decode(keyText), key.count == 32 else {
            throw ConfigError(line: f.entries["network.directory_key"]?.line ?? 0, message: "'network.directory_key' must be 64 hex digits")
        }
        self.init(topologyFile: topology, directoryKey: key)
        meanDelayMillis = try f.integer("network.mean_delay_ms", default: meanDelayMillis, range: 0...60_000)
        resendAfterSeconds = try f.integer("client.resend_after_seconds", default: resendAfterSeconds, range: 1...604_800)
        pollSeconds = try f.integer("client.poll_seconds", default: pollSeconds, range: 1...3600)
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
    }

    public var text: String {
        let c = cover ?? CoverConfig()
        return """
        # Which network a Postern profile uses (docs/CLIENT.md).
        [network]
        topology = "\(topologyFile)"
        directory_key = "\(Hex.encode(directoryKey))"
        mean_delay_ms = \(meanDelayMillis)

        [client]
        resend_after_seconds = \(resendAfterSeconds)
        poll_seconds = \(pollSeconds)

        [cover]
        # Loopix cover streams while 'postern inbox --watch' runs; messages then leave in payload slots.
        enabled = \(cover != nil)
        payload_per_minute = \(Int((c.payloadRate * 60).rounded()))
        loop_per_minute = \(Int((c.loopRate * 60).rounded()))
        drop_per_minute = \(Int((c.dropRate * 60).rounded()))
        bytes_per_day_mb = \(c.bytesPerDay >> 20)
        epoch_seconds = \(c.epochSeconds)

        """
    }

    /// Reads and verifies the signed topology (signature, validity, consistency).
    public func loadTopology(now: Int64) -> Result<Topology, ClientSetupError> {
        let bytes: [UInt8]
        do { bytes = try Files.read(topologyFile) } catch {
            return .failure(ClientSetupError("cannot read the topology \(topologyFile): \(error.description)"))
        }
        do { return .success(try Topology(signedText: String(decoding: bytes, as: UTF8.self), directoryKey: directoryKey, now: now)) } catch {
            return .failure(ClientSetupError("\(topologyFile): \(error.description)"))
        }
    }
}

/// Why a client could not be set up (config, topology); one line.
public struct ClientSetupError: Error, Equatable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
