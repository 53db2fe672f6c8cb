import PosternCrypto
import PosternNode
import PosternSystem

/// One `postern node run` process on its own loopback address (127.0.0.2, 127.0.0.3, …), made from
/// outside it: keys, a config with ports 0 (the node logs what it bound), its stderr in `node.log`, its
/// counters from its metrics endpoint. For the process benchmark and tools; the tests keep their own
/// twin (keys made by `postern node keygen`, regex waits on the log).
public final class NodeProcess {
    public let name: String
    public let directory: String
    public let host: String
    public let secrets: NodeSecrets
    let binary: String
    private var child: ChildProcess?
    private var metricsPort: Int?

    /// Makes the directory and the node's keys (`node keygen`'s file) in it; nothing runs yet.
    public init(binary: String, name: String, directory: String, host: String) throws(SystemError) {
        self.binary = binary
        self.name = name
        self.directory = directory
        self.host = host
        try Files.makeDirectories(directory)
        secrets = NodeSecrets.generate()
        try Files.writeAtomically(directory + "/node.keys", Array(secrets.fileText.utf8))
    }

    /// Writes postern.toml (role, bootstrap line, epoch length and `extra` TOML lines) and starts the node.
    public func start(role: String, bootstrap: String, epochSeconds: Int, extra: String = "") throws(SystemError) {
        let config = Self.config(directory: directory, host: host, role: role, bootstrap: bootstrap, epochSeconds: epochSeconds, extra: extra)
        try Files.writeAtomically(directory + "/postern.toml", Array(config.utf8))
        try? Files.remove(directory + "/node.log")
        metricsPort = nil
        child = try ChildProcess(binary, ["node", "run", "--config", directory + "/postern.toml"], logPath: directory + "/node.log")
    }

    /// The number the log prints right after `marker` ("listening on port ", "clients on "), waiting up
    /// to `seconds` for it; nil if it never appears or the process ended.
    public func logged(_ marker: String, seconds: Double = 20) -> Int? {
        let end = Clock.monotonicNanoseconds() &+ UInt64(seconds * 1e9)
        while true {
            if let text = child?.log, let n = Self.number(after: marker, in: text) { return n }
            if child?.exitStatus() != nil || Clock.monotonicNanoseconds() > end { return nil }
            Clock.sleep(nanoseconds: 20_000_000)
        }
    }

    /// "host:port#link key" for other nodes' `bootstrap` and clients' `gateway` lines.
    public func peerLine(port: Int) -> String { "\(host):\(port)#\(secrets.linkPublic.hex)" }

    /// One scrape of its metrics endpoint (whose port is read from the log once).
    public func metrics(_ loop: EventLoop) -> MetricsScrape.Sample? {
        if metricsPort == nil { metricsPort = logged("metrics on \(host):", seconds: 1) }
        guard let port = metricsPort else { return nil }
        return MetricsScrape.fetch(loop, host, UInt16(port))
    }

    /// CPU time the process has used so far, nanoseconds.
    public var cpuNanoseconds: UInt64 { child?.cpuNanoseconds ?? 0 }

    public var log: String { child?.log ?? "" }

    /// SIGTERM and wait.
    public func stop() {
        child?.stop()
        child = nil
    }

    /// The postern.toml of a node in `directory` on `host`: every port 0 (the node logs what it bound),
    /// a client port for gateways, a metrics endpoint; `extra` TOML lines at the end.
    public static func config(directory: String, host: String, role: String, bootstrap: String, epochSeconds: Int,
                              extra: String = "") -> String {
        """
        [node]
        keys = "\(directory)/node.keys"
        data_dir = "\(directory)"
        role = "\(role)"
        listen = "\(host):0"
        client_listen = "\(role == "mix" ? "" : host + ":0")"
        [network]
        bootstrap = "\(bootstrap)"
        epoch_seconds = \(epochSeconds)
        [metrics]
        listen = "\(host):0"
        \(extra)
        """
    }

    static func number(after marker: String, in text: String) -> Int? {
        let t = Array(text.utf8), m = Array(marker.utf8)
        guard m.count <= t.count else { return nil }
        for start in 0...(t.count - m.count) where t[start..<(start + m.count)].elementsEqual(m) {
            var i = start + m.count, value = 0, digits = 0
            while i < t.count, t[i] >= 48, t[i] <= 57, digits < 9 { value = value * 10 + Int(t[i] - 48); i += 1; digits += 1 }
            if digits > 0 { return value }
        }
        return nil
    }
}
