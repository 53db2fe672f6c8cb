import PosternMailbox
import PosternNetwork
import PosternSystem

/// The node's configuration (board/postern.toml documents every key and its default).
public struct NodeConfig: Equatable {
    public var keysFile = "/var/lib/postern/node.keys"
    public var dataDirectory = "/var/lib/postern"
    /// "mix", "gateway" or "both".
    public var role = "mix"
    public var listen = "0.0.0.0:7000"
    public var advertise = ""
    public var clientListen = ""
    public var advertiseClient = ""
    public var maxClients = 256
    public var clientIdleSeconds = 300
    public var maxClientOutputMB = 8
    /// Bootstrap peers, "host:port#link key", comma-separated.
    public var bootstrap = ""
    /// This node's membership certificate file (certified networks).
    public var certificateFile = ""
    public var network = NetworkParameters()
    public var maxQueuedPackets = 4096
    public var maxPendingPerLink = 512
    public var maxUndescribedLinks = 64
    /// Partial views (PROTOCOL.md §5.9): 0 = a full view; else the view size (sample size: `sampleSize`).
    public var viewSize = 0
    public var sampleSize = 0
    public var replayCapacity = 1 << 18
    public var groupCommitMillis = 5
    /// nil: derived from the byte cap (`MailboxConfig.mapSize(forByteCap:)`, 256 for 192).
    public var mapSizeMB: Int?
    public var byteCapMB = 192
    public var ttlDays = 7
    public var maxPerAddress = 64
    public var relayLoopsPerHour = 0
    public var coverBytesPerDayMB = 300
    public var coverEpochSeconds = 3600
    public var metricsListen = ""
    public var logLevel = "info"

    public static let keys = [
        "node.keys", "node.data_dir", "node.role", "node.listen", "node.advertise", "node.client_listen", "node.advertise_client",
        "node.max_clients", "node.client_idle_seconds", "node.max_client_output_mb",
        "network.bootstrap", "network.certificate", "network.view_size", "network.sample_size",
    ] + NetworkParameters.configKeys.map { "network." + $0 } + [
        "mixing.max_queued_packets", "mixing.max_pending_per_link", "mixing.max_undescribed_links", "mixing.replay_capacity",
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
        role = try f.string("node.role", default: role)
        guard ["mix", "gateway", "both"].contains(role) else {
            throw ConfigError(line: f.entries["node.role"]?.line ?? 0, message: "'node.role' must be mix, gateway or both")
        }
        listen = try f.string("node.listen", default: listen)
        advertise = try f.string("node.advertise", default: advertise)
        clientListen = try f.string("node.client_listen", default: clientListen)
        advertiseClient = try f.string("node.advertise_client", default: advertiseClient)
        maxClients = try f.integer("node.max_clients", default: maxClients, range: 1...100_000)
        clientIdleSeconds = try f.integer("node.client_idle_seconds", default: clientIdleSeconds, range: 5...86_400)
        maxClientOutputMB = try f.integer("node.max_client_output_mb", default: maxClientOutputMB, range: 1...4096)
        bootstrap = try f.string("network.bootstrap", default: bootstrap)
        for entry in bootstrapEntries where Peer(entry) == nil {
            throw ConfigError(line: f.entries["network.bootstrap"]?.line ?? 0,
                              message: "'network.bootstrap' entries must be \"host:port#<link key, 64 hex>\" ('postern node info' prints them)")
        }
        certificateFile = try f.string("network.certificate", default: certificateFile)
        network = try NetworkParameters(config: f, prefix: "network.")
        viewSize = try f.integer("network.view_size", default: 0, range: 0...10_000)
        sampleSize = try f.integer("network.sample_size", default: viewSize, range: 0...10_000)
        if viewSize > 0 && network.layerRule == .deal {
            throw ConfigError(line: f.entries["network.view_size"]?.line ?? 0,
                              message: "'network.view_size' (partial views) needs 'network.layer_rule = 2': rule 1 sorts every mix")
        }
        if viewSize > 0 && (viewSize < 3 || sampleSize < 1) {
            throw ConfigError(line: f.entries["network.view_size"]?.line ?? 0,
                              message: "'network.view_size' must be 0 (a full view) or at least 3, and 'network.sample_size' at least 1")
        }
        maxQueuedPackets = try f.integer("mixing.max_queued_packets", default: maxQueuedPackets, range: 16...1_000_000)
        maxPendingPerLink = try f.integer("mixing.max_pending_per_link", default: maxPendingPerLink, range: 1...100_000)
        maxUndescribedLinks = try f.integer("mixing.max_undescribed_links", default: maxUndescribedLinks, range: 1...100_000)
        replayCapacity = try f.integer("mixing.replay_capacity", default: replayCapacity, range: 1024...(1 << 26))
        byteCapMB = try f.integer("mailbox.byte_cap_mb", default: byteCapMB, range: 1...(1 << 20))
        if f.entries["mailbox.map_size_mb"] != nil {
            let least = (MailboxConfig.mapSize(forByteCap: byteCapMB << 20) + (1 << 20) - 1) >> 20
            mapSizeMB = try f.integer("mailbox.map_size_mb", default: least, range: least...(1 << 21))
        }
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
        // Listen addresses may take port 0 (the kernel picks; the node publishes what it got).
        for (key, value, anyPort) in [("node.listen", listen, true), ("node.client_listen", clientListen, true),
                                      ("metrics.listen", metricsListen, true), ("node.advertise", advertise, false),
                                      ("node.advertise_client", advertiseClient, false)]
        where !value.isEmpty && !Self.isEndpoint(value, anyPort: anyPort) {
            throw ConfigError(line: f.entries[key]?.line ?? 0, message: "'\(key)' must be host:port")
        }
        guard ["debug", "info", "warning", "error"].contains(logLevel) else {
            throw ConfigError(line: f.entries["log.level"]?.line ?? 0, message: "'log.level' must be debug, info, warning or error")
        }
        if role != "mix" && clientListen.isEmpty {
            throw ConfigError(line: f.entries["node.role"]?.line ?? 0, message: "a gateway needs 'node.client_listen' (where clients connect)")
        }
    }

    static func isEndpoint(_ s: String, anyPort: Bool) -> Bool {
        guard let colon = s.lastIndex(of: ":"), let port = UInt16(s[s.index(after: colon)...]), port > 0 || anyPort else { return false }
        return colon != s.startIndex
    }

    public var bootstrapEntries: [String] {
        bootstrap.split(separator: ",").map { String($0).trimmed }.filter { !$0.isEmpty }
    }

    public var bootstrapPeers: [Peer] { bootstrapEntries.compactMap { Peer($0) } }

    public var roles: NodeDescriptor.Roles {
        switch role {
        case "gateway": .gateway
        case "both": .both
        default: .mix
        }
    }

    public var mailboxConfig: MailboxConfig {
        var m = MailboxConfig()
        m.byteCap = byteCapMB << 20
        if let mapSizeMB { m.mapSize = mapSizeMB << 20 }
        m.defaultTTLSeconds = Int64(ttlDays) * 86_400
        m.maxPerAddress = maxPerAddress
        return m
    }
}
