import PosternCrypto
import PosternNode
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
///
/// Relative topology paths are relative to the config file's directory.
public struct ClientConfig: Equatable {
    public var topologyFile: String
    public var directoryKey: [UInt8]
    public var meanDelayMillis: Int = 50
    public var resendAfterSeconds: Int = 120
    public var pollSeconds: Int = 5

    public static let keys = ["network.topology", "network.directory_key", "network.mean_delay_ms",
                              "client.resend_after_seconds", "client.poll_seconds"]

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
    }

    public var text: String {
        """
        # Which network a Postern profile uses (docs/CLIENT.md).
        [network]
        topology = "\(topologyFile)"
        directory_key = "\(Hex.encode(directoryKey))"
        mean_delay_ms = \(meanDelayMillis)

        [client]
        resend_after_seconds = \(resendAfterSeconds)
        poll_seconds = \(pollSeconds)

        """
    }

    /// Reads and verifies the signed topology (signature, validity, consistency).
    public func loadTopology(now: Int64) -> Result<Topology, ClientSetupError> {
        let bytes: [UInt8]
        do { bytes = try Files.read(topologyFile) } catch {
            return .failure(ClientSetupError("cannot read the topology \(topologyFile): \(error.message)"))
        }
        do { return .success(try Topology(signedText: String(decoding: bytes, as: UTF8.self), directoryKey: directoryKey, now: now)) } catch {
            return .failure(ClientSetupError("\(topologyFile): \(error.description)"))
        }
    }
}

/// Why a client could not be set up (config, topology); one line.
public struct ClientSetupError: Error, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
