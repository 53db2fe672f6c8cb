import PosternChat
import PosternCrypto
import PosternNetwork
import PosternPacket
import PosternSystem

/// Posting to and reading public chats over the mixnet. A chat's posts for one 10-minute bucket live at
/// `PublicChat.address(chat, bucket)` on one gateway, chosen from the address (so every reader asks
/// the same one); posts travel own gateway → mixes → that gateway like any packet, and readers fetch
/// without deleting. Device-sync notes use the same path to an address on the seed's private chain.
public final class PublicChatClient {
    let network: ClientNetwork
    /// The client's own gateway (entry into the mixnet).
    let entry: GatewayClient
    let loop: EventLoop
    let courier: Courier
    var readers: [Bytes32: GatewayClient] = [:]

    public init(network: ClientNetwork, entry: GatewayClient, loop: EventLoop) {
        self.network = network
        self.entry = entry
        self.loop = loop
        courier = Courier(network: network, ownGateway: entry.gateway.id, meanDelayMicros: 10_000)
    }

    /// The gateway that stores `address` (by the address among this epoch's gateways, sorted by id; a
    /// reader whose view lists other gateways than the poster's may look elsewhere: docs/CHAT.md).
    public func gateway(for address: Bytes32) -> NodeInfo? {
        let gateways = network.topology.gateways
        guard !gateways.isEmpty else { return nil }
        return gateways[Int(address.words.0 % UInt64(gateways.count))]
    }

    /// Sends `bytes` through the mixnet to `address` at its gateway.
    public func deposit(_ bytes: [UInt8], at address: Bytes32, done: @escaping (Bool) -> Void = { _ in }) {
        guard let target = gateway(for: address),
              let (packet, _, _) = try? courier.packet(bytes, to: address, at: target.id, acknowledge: false) else {
            done(false)
            return
        }
        entry.submit(packet) { status, _ in done(status == .ok) }
    }

    public func post(_ wrapped: [UInt8], chat: String, bucket: Int64, done: @escaping (Bool) -> Void = { _ in }) {
        deposit(wrapped, at: PublicChat.address(chat: chat, bucket: bucket), done: done)
    }

    /// Everything stored at `address` (blobs without their kind byte), read anonymously from its gateway.
    public func read(_ address: Bytes32, _ done: @escaping ([[UInt8]]) -> Void) {
        guard let g = gateway(for: address) else { done([]); return }
        let client = readers[g.id] ?? GatewayClient(loop: loop, gateway: g)
        readers[g.id] = client
        client.fetch([address]) { items in
            done((items ?? []).compactMap { StoredKind(blob: $0.blob) == .message ? Array($0.blob.dropFirst()) : nil })
        }
    }

    public func close() { for c in readers.values { c.close() } }
}
