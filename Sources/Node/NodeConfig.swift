import PosternMailbox
import PosternNetwork
import PosternSystem

/// The node's configuration (board/postern.toml documents every key and its default).
public struct NodeConfig: Equatable {
    public var keysFile = "/var/lib/postern/node.keys"
    public var dataDirectory = "/var/lib/postern"
    public var topologyFile = "/etc/postern/topology.txt"
    public var directoryKey = ""
    public var listen = "0.0.0.0:7000"
    public var clientListen = ""
    public var maxQueuedPackets = 4096
    public var maxPendingPerLink = 512
    public var replayCapacity = 1 << 18
    public var groupCommitMillis = 5
    public var mapSizeMB = 256
    public var byteCapMB = 192
    public var ttlDays = 7
    public var maxPerAddress = 64
    public var relayLoopsPerHour = 0
    public var coverBytesPerDayMB = 300
    public var coverEpochSeconds = 3600
    public var metricsListen = ""
    public var logLevel = "info"

    public static let keys = [
        "node.keys", "node.data_dir", "node.topology", "node.directory_key", "node.listen", "node.client_listen",
        "mixing.max_queued_packets", "mixing.max_pending_per_link", "mixing.replay_capacity",
        "mailbox.map_size_mb", "mailbox.byte_cap_mb", "mailbox.ttl_days", "mailbox.max_per_address",
        "mailbox.group_commit_ms", "cover.relay_loops_per_hour", "cover.bytes_per_day_mb", "cover.epoch_seconds",
        "metrics.listen", "log.level",
    ]

    public init() {}

    public init(text: String) throws(ConfigError) {
        let f = try ConfigFile(text: text)
        try f.checkKeys(Self.keys)
        keysFile = try f.string("node.keys", default: keysFile)
        dataDirectory = try f.string("node.data_dir", default: dataDirectory)
        topologyFile = try f.string("node.topology", default: topologyFile)
        directoryKey = try f.string("node.directory_key", default: directoryKey)
        listen = try f.string("node.listen", default: listen)
        clientListen = try f.string("node.client_listen", default: clientListen)
        maxQueuedPackets = try f.integer("mixing.max_queued_packets", default: maxQueuedPackets, range: 16...1_000_000)
        maxPendingPerLink = try f.integer("mixing.max_pending_per_link", default: maxPendingPerLink, range: 1...100_000)
        replayCapacity = try f.integer("mixing.replay_capacity", default: replayCapacity, range: 1024...(1 << 26))
        mapSizeMB = try f.integer("mailbox.map_size_mb", default: mapSizeMB, range: 4...(1 << 20))
        byteCapMB = try f.integer("mailbox.byte_cap_mb", default: byteCapMB, range: 1...(1 << 20))
        ttlDays = try f.integer("mailbox.ttl_days", default: ttlDays, range: 1...30)
        maxPerAddress = try f.integer("mailbox.max_per_address", default: maxPerAddress, range: 1...10_000)
        groupCommitMillis = try f.integer("mailbox.group_commit_ms", default: groupCommitMillis, range: 0...1000)
        relayLoopsPerHour = try f.integer("cover.relay_loops_per_hour", default: relayLoopsPerHour, range: 0...360_000)
        coverBytesPerDayMB = try f.integer("cover.bytes_per_day_mb", default: coverBytesPerDayMB, range: 1...1_000_000)
        coverEpochSeconds = try f.integer("cover.epoch_seconds", default: coverEpochSeconds, range: 60...86_400)
        if 86_400 % coverEpochSeconds != 0 {
            throw ConfigError(line: f.entries["cover.epoch_seconds"]?.line ?? 0, message: "'cover.epoch_seconds' must divide a day (86400)")
        }
        metricsListen = try f.string("metrics.listen", default: metricsListen)
        logLevel = try f.string("log.level", default: logLevel)
        for (key, value) in [("node.listen", listen), ("node.client_listen", clientListen), ("metrics.listen", metricsListen)]
        where !value.isEmpty && !Self.isEndpoint(value) {
            throw ConfigError(line: f.entries[key]?.line ?? 0, message: "'\(key)' must be host:port")
        }
        guard ["debug", "info", "warning", "error"].contains(logLevel) else {
            throw ConfigError(line: f.entries["log.level"]?.line ?? 0, message: "'log.level' must be debug, info, warning or error")
        }
        if byteCapMB >= mapSizeMB {
            throw ConfigError(line: f.entries["mailbox.byte_cap_mb"]?.line ?? 0, message: "'mailbox.byte_cap_mb' must be below 'mailbox.map_size_mb'")
        }
        if !directoryKey.isEmpty && (directoryKey.utf8.count != 64 || !directoryKey.utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) })) {
            throw ConfigError(line: f.entries["node.directory_key"]?.line ?? 0, message: "'node.directory_key' must be 64 lower-case hex digits")
        }
    }

    static func isEndpoint(_ s: String) -> Bool {
        guard let colon = s.lastIndex(of: ":"), let port = UInt16(s[s.index(after: colon)...]), port > 0 else { return false }
        return colon != s.startIndex
    }

    public var mailboxConfig: MailboxConfig {
        var m = MailboxConfig()
        m.mapSize = mapSizeMB << 20
        m.byteCap = byteCapMB << 20
        m.defaultTTLSeconds = Int64(ttlDays) * 86_400
        m.maxPerAddress = maxPerAddress
        return m
    }
}
