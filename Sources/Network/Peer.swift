import PosternCrypto
import PosternSystem

/// A node known in advance: where it listens and its link key. A new node gossips with a bootstrap peer
/// (`node.bootstrap`) until it knows others; a client reaches its gateway through one (`network.gateway`
/// in client.toml) before it has the view.
public struct Peer: Equatable, Sendable {
    public var address: String
    public var linkKey: Bytes32
    public init(address: String, linkKey: Bytes32) {
        self.address = address
        self.linkKey = linkKey
    }

    /// "host:port#<link key, 64 hex>", as `postern node info` prints it.
    public init?(_ text: String) {
        guard let hash = text.lastIndex(of: "#"), let key = Bytes32(hex: String(text[text.index(after: hash)...])),
              TCP.parse(String(text[..<hash])) != nil else { return nil }
        address = String(text[..<hash])
        linkKey = key
    }

    public var text: String { "\(address)#\(linkKey.hex)" }
}
