import PosternCrypto
import PosternNetwork
import PosternSystem

/// A node's own secrets: the X25519 link key (Noise static key; its hash is the node id) and the packet
/// key for the current epoch. Held in a class so `deinit` can wipe them.
public final class NodeKeys {
    public private(set) var linkSecret: Bytes32
    public let linkPublic: Bytes32
    public private(set) var packetSecret: Bytes32
    public let packetPublic: Bytes32
    public let epoch: UInt32

    public var id: Bytes32 { NodeInfo.id(forLinkKey: linkPublic) }

    public init(linkSecret: Bytes32, packetSecret: Bytes32, epoch: UInt32) {
        self.linkSecret = linkSecret
        self.packetSecret = packetSecret
        self.epoch = epoch
        linkPublic = Bytes32(X25519.publicKey(of: SecretKey(copying: linkSecret.bytes)))!
        packetPublic = Bytes32(X25519.publicKey(of: SecretKey(copying: packetSecret.bytes)))!
    }

    public static func generate(epoch: UInt32) -> NodeKeys {
        NodeKeys(linkSecret: .random(), packetSecret: .random(), epoch: epoch)
    }

    deinit {
        withUnsafeMutableBytes(of: &linkSecret.words) { Memory.wipe($0.baseAddress!, count: 32) }
        withUnsafeMutableBytes(of: &packetSecret.words) { Memory.wipe($0.baseAddress!, count: 32) }
    }

    /// Key file: "postern-node-keys 1\nepoch N\nlink <hex>\npacket <hex>\n", mode 0600.
    public var fileText: String {
        "postern-node-keys 1\nepoch \(epoch)\nlink \(linkSecret.hex)\npacket \(packetSecret.hex)\n"
    }

    public static func parse(_ text: String) -> NodeKeys? {
        var epoch: UInt32?, link: Bytes32?, packet: Bytes32?
        for line in text.split(separator: "\n") {
            let f = line.split(separator: " ").map(String.init)
            guard f.count == 2 else { continue }
            switch f[0] {
            case "epoch": epoch = UInt32(f[1])
            case "link": link = Bytes32(hex: f[1])
            case "packet": packet = Bytes32(hex: f[1])
            default: continue
            }
        }
        guard let epoch, let link, let packet else { return nil }
        return NodeKeys(linkSecret: link, packetSecret: packet, epoch: epoch)
    }
}
