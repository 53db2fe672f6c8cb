import PosternCrypto
import PosternNetwork
import PosternPacket
import PosternRatchet
import PosternSystem

/// A profile connected to the network: sends the outbox through the profile's gateway (each message
/// with a delivery-acknowledgement SURB), fetches what arrived at every contact's watched addresses
/// and at the pending acknowledgement addresses, and records the results in the profile.
///
/// Nothing is lost when the network is not there: a message is in the outbox (with its ratchet step)
/// before a packet is built, and it leaves the outbox only when its acknowledgement is opened. A
/// message whose submission failed is due again at once; one submitted but unacknowledged for
/// `resendAfterSeconds` is sent again in a fresh packet (the recipient's ratchet drops duplicates).
public final class Session {
    public let profile: Profile
    public let client: GatewayClient
    let loop: EventLoop
    /// Builds this session's packets (shared with a `ClientCover` that sends in its payload slots).
    public let courier: Courier
    /// The view of the network (this epoch's map comes from it).
    public let network: ClientNetwork
    public var topology: Topology { network.topology }
    var conversations: [String: Conversation] = [:]
    var inFlight: Set<UInt64> = []
    /// Submissions waiting for the gateway's answer.
    public var inFlightCount: Int { inFlight.count }
    var polling = false
    /// Cover streams sharing this session's connection: their loops and acknowledgements are watched
    /// and fetched by the same POLL.
    public var cover: ClientCover?
    /// What the last poll brought: items, and whether the gateway had more than one answer carries.
    public private(set) var lastPoll: (items: Int, more: Bool) = (0, false)
    public var resendAfterSeconds: Int64 = 120
    public var now: () -> Int64 = { Clock.wallSeconds() }
    public var onDelivered: (OutboxEntry) -> Void = { _ in }
    public var onMessage: (InboxEntry) -> Void = { _ in }
    /// Something went wrong that the person should know (one line); the work stays queued.
    public var onProblem: (String) -> Void = { _ in }
    public private(set) var submitted = 0

    let ownsClient: Bool

    /// `client`: a connection to the profile's gateway to share (a long-running client keeps one across
    /// sessions; `owning`: this session closes it); by default the session makes its own and closes it in
    /// `close()`.
    public init(profile: Profile, network: ClientNetwork, loop: EventLoop, meanDelayMicros: Double,
                client shared: GatewayClient? = nil, owning: Bool = false) throws(ProfileError) {
        let gateway = try profile.settings().gateway
        guard let own = network.gateway(gateway) else {
            throw .refused("this profile's gateway \(gateway.hex.prefix(16))… is not in the network's map (wrong --config, or it left the network?)")
        }
        self.profile = profile
        self.network = network
        self.loop = loop
        client = shared ?? GatewayClient(loop: loop, gateway: own)
        ownsClient = shared == nil || owning
        courier = Courier(network: network, ownGateway: gateway, meanDelayMicros: meanDelayMicros)
    }

    /// Closes the connection if the session owns it, recording what it moved in the profile's usage.
    public func close() {
        guard ownsClient else { return }
        client.onDisconnect = nil
        client.close()
        try? profile.record(usage: client.takeUsage(), day: now() / 86_400)
    }

    /// Longest text one message carries.
    public var maxTextBytes: Int { courier.capacity(ack: true) - RatchetMessage.overhead - 9 }

    func conversation(_ name: String) throws(ProfileError) -> Conversation {
        if let c = conversations[name] { return c }
        let c = try profile.conversation(name)
        conversations[name] = c
        return c
    }

    /// Encrypts `text` for `name`, queues it and starts sending it (with anything else due).
    public func send(_ text: [UInt8], to name: String) throws(ProfileError) -> OutboxEntry {
        let entry = try queue(text, to: name)
        try flushOutbox()
        return entry
    }

    /// Encrypts `text` for `name` and queues it, without sending (a cover-traffic client sends it in a
    /// payload slot).
    public func queue(_ text: [UInt8], to name: String) throws(ProfileError) -> OutboxEntry {
        guard text.count <= maxTextBytes else {
            throw .refused("message is \(text.count) bytes; one message carries at most \(maxTextBytes)")
        }
        let c = try conversation(name)
        // A map learnt from a gateway with a partial view may not hold it yet (docs/PROTOCOL.md §5.8): the
        // message waits in the outbox and leaves once a refresh brings the gateway's descriptor.
        if network.gateway(try profile.contact(name).theirs.gateway) == nil {
            onProblem("\(name)'s gateway is not in the network's map yet; the message waits in the outbox until it is "
                      + "(if it never appears, their bundle is for another network)")
        }
        return try profile.queue(text, to: name, conversation: c, now: now())
    }

    /// Submits the outbox entries that are due (never submitted, failed, or unacknowledged too long),
    /// at most `limit` of them; returns how many.
    @discardableResult
    public func flushOutbox(limit: Int = .max) throws(ProfileError) -> Int {
        var outbox = try profile.outbox()
        let t = now()
        var changed: [Int] = []
        var packets: [(UInt64, [UInt8])] = []
        for (i, entry) in outbox.enumerated() where !inFlight.contains(entry.id) && packets.count < limit {
            guard entry.ackAddress == nil || t - entry.lastAttempt >= resendAfterSeconds else { continue }
            let contact = try profile.contact(entry.contact)
            let built: (packet: [UInt8], ack: Courier.PendingAck?, mixes: [Bytes32])
            do { built = try courier.packet(entry.ciphertext, to: entry.address, at: contact.theirs.gateway, acknowledge: true) } catch {
                onProblem("message \(entry.id) cannot be packed: \(error.description)")
                continue
            }
            outbox[i].attempts += 1
            outbox[i].lastAttempt = t
            outbox[i].ackAddress = built.ack?.address
            outbox[i].ackSecrets = built.ack?.secrets.serialized ?? []
            changed.append(i)
            packets.append((entry.id, built.packet))
        }
        guard !changed.isEmpty else { return 0 }
        // The acknowledgement secrets are stored before the packets leave, so an acknowledgement is
        // recognised even if this process dies right after sending.
        try profile.save(outbox: outbox)
        for (id, packet) in packets {
            inFlight.insert(id)
            client.submit(packet) { [self] status, reason in
                self.inFlight.remove(id)
                if status == .ok {
                    self.submitted += 1
                } else {
                    self.onProblem("message \(id) not sent (\(reason.isEmpty ? "gateway refused it" : reason)); it stays queued")
                    self.markUnsent(id)
                }
            }
        }
        return packets.count
    }

    /// A failed submission is due again at the next flush.
    func markUnsent(_ id: UInt64) {
        guard var outbox = try? profile.outbox(), let i = outbox.firstIndex(where: { $0.id == id }) else { return }
        outbox[i].ackAddress = nil
        outbox[i].ackSecrets = []
        try? profile.save(outbox: outbox)
    }

    /// What one poll watches, and whose each address is (read from the profile when the poll starts).
    public struct PollPlan {
        public var wanted: Set<Bytes32>
        var owners: [Bytes32: String]
        var acks: [Bytes32: OutboxEntry]
    }

    /// How many addresses of each of a contact's receiving windows the gateway watches (the ratchet
    /// decrypts within all 32): a message more than this far ahead of the last one received is seen once
    /// those before it arrive (a lost one is sent again by its sender) and the window moves. 4 keeps
    /// the first poll of a connection at 8 addresses a contact (about 270 bytes) instead of 64.
    public static let lookAhead = 4

    /// The addresses to watch: the first `lookAhead` of the contacts' address windows and their skipped
    /// messages, the pending acknowledgements, and the cover's loops and acknowledgements.
    public func pollPlan() throws(ProfileError) -> PollPlan {
        var plan = PollPlan(wanted: [], owners: [:], acks: [:])
        for contact in try profile.contacts() {
            for a in try conversation(contact.name).watchedAddresses(lookAhead: Self.lookAhead) { plan.owners[a] = contact.name }
        }
        for entry in try profile.outbox() { if let a = entry.ackAddress { plan.acks[a] = entry } }
        plan.wanted = Set(plan.owners.keys).union(plan.acks.keys)
        if let cover { plan.wanted.formUnion(cover.wanted()) }
        return plan
    }

    /// Takes what a poll for `plan` brought: the cover's items, acknowledgements, messages (each deleted
    /// at the gateway once it is stored in the profile).
    public func take(_ items: [GatewayClient.Fetched], plan: PollPlan) {
        for item in items where cover?.take(item) != true { accept(item, owners: plan.owners, acks: plan.acks) }
    }

    /// Asks the gateway for what waits at every watched address (`pollPlan`): one POLL that tells the
    /// gateway only what changed since the last one. `holdSeconds`: the gateway may hold the answer until
    /// something arrives, at most that long. `done(false)` if the gateway could not be asked.
    public func poll(holdSeconds: UInt16 = 0, done: @escaping (Bool) -> Void) {
        guard !polling else { done(true); return }
        let plan: PollPlan
        do { plan = try pollPlan() } catch {
            onProblem(error.description)
            done(false)
            return
        }
        guard !plan.wanted.isEmpty else { lastPoll = (0, false); done(true); return }
        polling = true
        client.poll(plan.wanted, holdSeconds: holdSeconds) { [self] items, more, ok in
            self.take(items, plan: plan)
            self.lastPoll = (items.count, more)
            self.polling = false
            done(ok)
        }
    }

    func accept(_ item: GatewayClient.Fetched, owners: [Bytes32: String], acks: [Bytes32: OutboxEntry]) {
        if let entry = acks[item.address] {
            let secrets = SURBSecrets(serialized: entry.ackSecrets, geometry: network.parameters.geometry)
            switch secrets.flatMap({ Courier.openAck(item.blob, Courier.PendingAck(address: item.address, secrets: $0)) }) {
            case .stored?:
                guard (try? acknowledged(entry.id)) != nil else { return }   // keep it at the gateway: retried next poll
                onDelivered(entry)
            case .refused?:
                // Their gateway could not store it (quota or disk): it stays queued and is sent again
                // after `resendAfterSeconds`.
                onProblem("\(entry.contact)'s gateway could not store message \(entry.id) (their mailbox may be full); "
                          + "it stays queued and is sent again in \(resendAfterSeconds) s")
            case nil:
                break   // not a valid acknowledgement for this message: ignore it
            }
            client.delete(address: item.address, id: item.id)
            return
        }
        guard let name = owners[item.address], StoredKind(blob: item.blob) == .message, let c = try? conversation(name) else {
            client.delete(address: item.address, id: item.id)
            return
        }
        let message = RatchetMessage(address: item.address, ciphertext: Array(item.blob[1...]))
        let plaintext: [UInt8]
        do { plaintext = try c.receive(message) } catch {
            // A duplicate (a retried message whose first copy arrived) or a forgery: nothing to keep.
            client.delete(address: item.address, id: item.id)
            return
        }
        do {
            let entry = try profile.received(plaintext, from: name, conversation: c, now: now())
            client.delete(address: item.address, id: item.id)
            onMessage(entry)
        } catch {
            // Not stored: forget the in-memory step and leave the message at the gateway for next time.
            conversations[name] = nil
            onProblem("could not store a message from \(name): \(error.description)")
        }
    }

    func acknowledged(_ id: UInt64) throws(ProfileError) {
        try profile.save(outbox: try profile.outbox().filter { $0.id != id })
    }
}
