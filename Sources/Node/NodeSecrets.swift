import PosternCrypto
import PosternNetwork
import PosternSystem

/// A node's long-term secrets: its identity (an Ed25519 signing key: it signs the node's descriptors, and
/// the node id is derived from it) and its link key (X25519, the Noise static key). Neither rotates; the
/// per-epoch packet keys live in `PacketKeys`. Held in a class so `deinit` can wipe them.
public final class NodeSecrets {
    private(set) var identitySeed: Bytes32
    public let identity: Bytes32
    public private(set) var linkSecret: Bytes32
    public let linkPublic: Bytes32

    public var id: Bytes32 { NodeDescriptor.id(identity: identity) }
    /// The identity seed in hex (for key files).
    public var identitySeedHex: String { identitySeed.hex }

    public init(identitySeed: Bytes32, linkSecret: Bytes32) {
        self.identitySeed = identitySeed
        self.linkSecret = linkSecret
        identity = Bytes32(Ed25519.KeyPair(seed: identitySeed.bytes).publicKey)!
        linkPublic = Bytes32(X25519.publicKey(of: SecretKey(copying: linkSecret.bytes)))!
    }

    public static func generate() -> NodeSecrets { NodeSecrets(identitySeed: .random(), linkSecret: .random()) }

    deinit {
        withUnsafeMutableBytes(of: &identitySeed.words) { Memory.wipe($0.baseAddress!, count: 32) }
        withUnsafeMutableBytes(of: &linkSecret.words) { Memory.wipe($0.baseAddress!, count: 32) }
    }

    /// The signing key (made when needed; wiped when dropped).
    public func identityKey() -> Ed25519.KeyPair { Ed25519.KeyPair(seed: identitySeed.bytes) }

    /// Key file, mode 0600:
    ///
    ///     postern-node-keys 2
    ///     identity <Ed25519 seed, 64 hex>
    ///     link <X25519 secret, 64 hex>
    public var fileText: String {
        "postern-node-keys 2\nidentity \(identitySeed.hex)\nlink \(linkSecret.hex)\n"
    }

    /// Parses a key file. A version-1 file (link and one packet key, from before descriptors) keeps its
    /// link key and gains a new identity: `upgraded` is then true and the file should be rewritten.
    public static func parse(_ text: String) -> (secrets: NodeSecrets, upgraded: Bool)? {
        var version: String?, identity: Bytes32?, link: Bytes32?
        for line in text.split(separator: "\n") {
            let f = line.split(separator: " ").map(String.init)
            guard f.count == 2 else { continue }
            switch f[0] {
            case "postern-node-keys": version = f[1]
            case "identity": identity = Bytes32(hex: f[1])
            case "link": link = Bytes32(hex: f[1])
            default: continue
            }
        }
        guard let link else { return nil }
        switch version {
        case "2"?:
            guard let identity else { return nil }
            return (NodeSecrets(identitySeed: identity, linkSecret: link), false)
        case "1"?:
            return (NodeSecrets(identitySeed: .random(), linkSecret: link), true)
        default:
            return nil
        }
    }
}
