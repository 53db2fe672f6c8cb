import PosternCrypto
import PosternNetwork
import PosternPacket
import PosternRatchet
import PosternSystem

/// One side of a conversation over the mixnet: ratchet messages become packets routed
/// own gateway → one mix per layer → the counterparty's gateway, each hop holding the packet for an
/// exponentially distributed delay; incoming messages are fetched from the own gateway at the
/// conversation's watched addresses.
///
/// A delivered packet's data is the ratchet ciphertext (`Delivery` format), with an acknowledgement SURB:
/// `onDelivered` reports each message the counterparty's gateway has committed to its store.
public final class Messenger {
    public let conversation: Conversation
    public let client: GatewayClient
    let topology: Topology
    let theirGateway: NodeInfo
    public let courier: Courier
    /// Mean per-hop delay.
    public var meanDelayMicros: Double {
        get { courier.meanDelayMicros }
        set { courier.meanDelayMicros = newValue }
    }
    /// Called with the state after every change that must survive a crash (before a send leaves).
    public var persist: ([UInt8]) -> Void = { _ in }
    public var onMessage: ([UInt8]) -> Void = { _ in }
    public var onError: (String) -> Void = { _ in }
    /// The message sent to this address reached the counterparty's mailbox.
    public var onDelivered: (Bytes32) -> Void = { _ in }
    var polling = false
    /// Messages waiting for a payload slot of the cover schedule (when a `CoverDriver` drives sending).
    public internal(set) var queue: [[UInt8]] = []
    /// Acknowledgements being waited for: their address → the SURB secrets and the message address.
    public internal(set) var pendingAcks: [Bytes32: (ack: Courier.PendingAck, message: Bytes32)] = [:]

    public init(conversation: Conversation, client: GatewayClient, topology: Topology, theirGateway: Bytes32,
                meanDelayMicros: Double = 50_000) throws(TopologyError) {
        guard let gateway = topology.node(theirGateway), gateway.role == .gateway else {
            throw .inconsistent("the contact's gateway is not in the topology")
        }
        self.conversation = conversation
        self.client = client
        self.topology = topology
        self.theirGateway = gateway
        courier = Courier(topology: topology, ownGateway: client.gateway, meanDelayMicros: meanDelayMicros)
    }

    /// Encrypts, persists the advanced state, then submits. Returns the message's address.
    @discardableResult
    public func send(_ text: [UInt8], done: @escaping (Bool) -> Void = { _ in }) -> Bytes32? {
        let message = conversation.send(text)
        persist(conversation.serialized())
        guard let (packet, ack) = try? courier.packet(message.ciphertext, to: message.address, at: theirGateway, acknowledge: true) else {
            onError("message too long for one packet")
            return nil
        }
        if let ack { pendingAcks[ack.address] = (ack, message.address) }
        client.submit(packet) { [self] status, reason in
            if status != .ok { self.onError("gateway refused the packet (status \(status.code)): \(reason)") }
            done(status == .ok)
        }
        return message.address
    }

    /// Queues a message for the next payload slot of the cover schedule.
    public func enqueue(_ text: [UInt8]) { queue.append(text) }

    /// Fetches every watched address once, decrypts what arrived and deletes it from the gateway.
    public func poll(done: @escaping () -> Void = {}) {
        guard !polling else { done(); return }
        polling = true
        client.fetchAll(conversation.watchedAddresses() + Array(pendingAcks.keys)) { [self] items, _ in
            for item in items { self.accept(item) }
            self.polling = false
            done()
        }
    }

    func accept(_ item: GatewayClient.Fetched) {
        defer { client.delete(address: item.address, id: item.id) }
        if let pending = pendingAcks[item.address] {
            guard Courier.openAck(item.blob, pending.ack) != nil else { return }
            pendingAcks[item.address] = nil
            onDelivered(pending.message)
            return
        }
        guard StoredKind(blob: item.blob) == .message else { return }
        let message = RatchetMessage(address: item.address, ciphertext: Array(item.blob[1...]))
        do {
            let plaintext = try conversation.receive(message)
            persist(conversation.serialized())
            onMessage(plaintext)
        } catch {
            // Already consumed (fetched twice before the delete landed) or forged: drop it.
        }
    }
}
