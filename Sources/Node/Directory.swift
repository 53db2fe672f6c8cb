import PosternCrypto
import PosternLink
import PosternNetwork
import PosternPacket
import PosternStore
import PosternSystem

/// Stage "directory": what this node knows of the network, and what it tells it.
///
/// - Packet keys rotate with the epochs (`PacketKeys`); the keyring the unwrapper uses follows, and each
///   rotation republishes this node's descriptor (signed with its identity key).
/// - The view (`NetworkView`) holds the newest verified descriptor of every node; the map of the current
///   epoch (`topology`) is rebuilt from it whenever it changes.
/// - Gossip (docs/PROTOCOL.md §5.6): every `gossipInterval` a round with one node chosen at random (a
///   bootstrap peer while no other node is known); digests and descriptors travel as control frames on
///   the node links, bounded per connection.
/// - The view is kept in the node's state store, so a restart does not need the bootstrap peer.
final class Directory: Timed {
    let parameters: NetworkParameters
    let secrets: NodeSecrets
    let options: NodeOptions
    let keys: PacketKeys
    let keyring: Keyring
    let counters: NodeCounters
    let log: (String) -> Void
    private(set) var state: RecordStore?
    var view: NetworkView
    private(set) var topology: Topology
    private(set) var own: NodeDescriptor?
    /// Where this node is reached (known once its listeners are bound).
    var address = "", clientAddress: String?
    /// Called after the view (or this epoch's map) changed.
    var onChange: () -> Void = {}
    /// Called with every epoch whose packet key was deleted.
    var onKeyDeleted: (UInt32) -> Void = { _ in }
    /// Sends control frames to a node (by link key and address), connecting if needed.
    var sendControl: (_ frames: [[UInt8]], _ linkKey: Bytes32, _ address: String) -> Void = { _, _, _ in }

    var nextGossip: UInt64 = 0
    var nextKeyEvent: Int64 = 0
    var viewDirty = false
    var lastSave: Int64 = 0
    /// How far the last peers' clocks were from ours (their digest time − ours), newest last.
    var skews: [Int64] = []
    /// Our clock disagrees with most recent peers by more than `NodeDescriptor.maxSkewSeconds`: keys for
    /// what we think the epoch is would be wrong, so nothing is published until it agrees again.
    var clockSuspect: Bool {
        guard skews.count >= 3 else { return false }
        let sorted = skews.sorted()
        return abs(sorted[sorted.count / 2]) > NodeDescriptor.maxSkewSeconds
    }
    /// Partial views (§5.9; `Directory+Sampling.swift`): nil when this node keeps a full view (§5.6).
    var sampling: SamplingState?
    /// Digest chunks received so far, per connection.
    var partialDigests: [FileDescriptor: [GossipFrame.DigestEntry]] = [:]
    /// Control bytes received per connection in the current gossip interval.
    var controlBytes: [FileDescriptor: Int] = [:]
    var controlWindowStart: UInt64 = 0

    /// Most descriptors held (`NodeOptions.maxViewDescriptors`); further new nodes are refused (counted as
    /// `gossipRefused`).
    var maxView: Int { options.maxViewDescriptors }
    /// Control bytes one connection may send per gossip interval (a whole view of `maxView` nodes pushed
    /// to a new node, with room to spare); beyond it the connection is closed as a flood.
    static let maxControlBytesPerInterval = 16 << 20

    init(parameters: NetworkParameters, secrets: NodeSecrets, options: NodeOptions, keyring: Keyring, counters: NodeCounters,
         state: RecordStore?, log: @escaping (String) -> Void) {
        self.parameters = parameters
        self.secrets = secrets
        self.options = options
        self.keyring = keyring
        self.counters = counters
        self.state = state
        self.log = log
        keys = PacketKeys(path: options.packetKeysPath, parameters: parameters)
        view = NetworkView(parameters: parameters)
        topology = Topology(epoch: 0, validUntil: 0, geometry: parameters.geometry, nodes: [])
        let now = Clock.wallSeconds()
        for bytes in options.knownDescriptors { offer(bytes, now: now) }
        if let stored = try? state?.get("descriptors") { for bytes in NodeDescriptor.decodeList(stored[...]) { offer(bytes, now: now) } }
        sampling = Self.sampling(me: secrets.id, options: options, known: Array(view.descriptors.keys))
        viewDirty = false
        learnedNode = false
    }

    /// The longest interval between gossip rounds: an eighth of an epoch, 0.5 s … 5 min.
    var gossipInterval: UInt64 { UInt64(min(max(Double(parameters.epochSeconds) / 8, 0.5), 300) * 1e9) }
    /// The shortest: rounds come this soon after the view gained a node.
    var quickGossipInterval: UInt64 { min(500_000_000, gossipInterval) }
    /// The interval to the next round: `quickGossipInterval` after a round that brought a node this view
    /// did not know (so a join spreads in seconds, a round per hop), the full `gossipInterval` after one
    /// that brought none; while no other node is known, 1, 2, 4 … s up to the full interval (an
    /// unreachable bootstrap peer is asked again, not hammered). Rounds that learn nothing allocate, so a
    /// settled network is back to one round per interval within seconds.
    var roundInterval: UInt64 = 0
    /// The view gained a node since the last round.
    var learnedNode = false

    /// Loads or makes the packet keys, fills the keyring and publishes the first descriptor.
    func start(address: String, clientAddress: String?) {
        self.address = address
        self.clientAddress = clientAddress
        rotate(now: Clock.wallSeconds(), force: true)
        nextGossip = EventLoop.now()
        if let s = sampling {
            if parameters.pushWorkBits == 0 {
                log("warning: partial views without 'network.push_work': pushes cost nothing, so a coalition can fill every view (docs/PROTOCOL.md §5.9)")
            } else {
                checkPushWorkCost(pushes: s.brahms.parameters.pushes)
            }
        }
    }

    // MARK: Keys and descriptor

    /// Rotates the packet keys if an epoch boundary or a grace period passed, re-signs the descriptor.
    func rotate(now: Int64, force: Bool = false) {
        let change: (added: [UInt32], removed: [UInt32])
        do { change = try keys.rotate(now: now) } catch {
            log("warning: cannot save the packet keys: \(error.description)")
            change = ([], [])
        }
        if force {
            for (epoch, secret) in keys.secrets where keyring.key(for: epoch) == nil {
                keyring.add(EpochKey(epoch: epoch, secret: SecretKey(copying: secret.bytes), replayCapacity: keyring.replayCapacity))
            }
        } else {
            for e in change.added {
                if let s = keys.secret(for: e) { keyring.add(EpochKey(epoch: e, secret: SecretKey(copying: s.bytes), replayCapacity: keyring.replayCapacity)) }
            }
        }
        for e in change.removed {
            keyring.remove(epoch: e)
            onKeyDeleted(e)
        }
        for key in keyring.keys where keys.secret(for: key.epoch) == nil { keyring.remove(epoch: key.epoch) }
        counters.stats.keysAdded += change.added.count
        counters.stats.keysDeleted += change.removed.count
        if force || !change.added.isEmpty || !change.removed.isEmpty { publish(now: now) }
        nextKeyEvent = keys.secrets.map { parameters.start(of: $0.epoch &+ 1) + parameters.graceSeconds }.min() ?? (now + 1)
        nextKeyEvent = min(nextKeyEvent, parameters.start(of: parameters.epoch(at: now) &+ 1))
        rebuild(now: now)
    }

    /// Signs and takes a new descriptor of this node (its keys, addresses and roles as they are now).
    func publish(now: Int64) {
        if clockSuspect {
            log("warning: this node's clock is \(-skews.sorted()[skews.count / 2]) s off its peers' (median of the last \(skews.count)); "
                + "not publishing packet keys for what may be the wrong epoch until time sync fixes it")
            return
        }
        let published = keys.published(now: now)
        guard !published.isEmpty else { return }
        let lastEpoch = published.last!.epoch
        let validUntil = min(parameters.start(of: lastEpoch &+ 1), now + NodeDescriptor.maxLifetimeSeconds)
        let identity = secrets.identityKey()
        let d = NodeDescriptor(identityKey: identity, network: parameters, linkKey: secrets.linkPublic, roles: options.roles,
                               published: max(now, (own?.published ?? 0) + 1), validUntil: validUntil, address: address,
                               clientAddress: options.roles.isGateway ? clientAddress : nil, packetKeys: published,
                               software: "postern \(Self.version)", certificate: options.certificate)
        own = d
        view.insert(d)
        viewDirty = true
        // Warned at every republication (once an epoch) from 14 days before: the node drops out of a
        // certified network when its certificate expires.
        if let c = options.certificate, c.validUntil < now + 14 * 86_400 {
            log("warning: the membership certificate expires on \(Format.utc(c.validUntil)) UTC; ask the network key's holder for a new one")
        }
    }

    static let version = "0.2.0"

    // MARK: The view

    /// Offers one descriptor from the network; counts a refusal. True if taken. A full view refuses new
    /// nodes (counted as `gossipRefused`, before any signature check), not newer descriptors of the nodes
    /// it holds.
    @discardableResult
    func offer(_ bytes: [UInt8], now: Int64) -> Bool {
        if view.count >= maxView {
            guard let d = try? NodeDescriptor(bytes: bytes), view.descriptors.index(forKey: d.id) != nil else {
                counters.stats.gossipRefused += 1
                return false
            }
        }
        let known = view.count
        let (taken, refusal) = view.offer(bytes, now: now)
        if let refusal { counters.stats.refused(refusal) }
        if taken {
            counters.stats.descriptorsTaken += 1
            viewDirty = true
            if view.count > known && sampling == nil {
                // A node new to this view: the next round (and map rebuild) comes soon.
                learnedNode = true
                nextGossip = min(nextGossip, EventLoop.now() &+ quickGossipInterval)
            }
        }
        return taken
    }

    /// Whether a descriptor received on inbound link `c` introduces its peer (§4.1): it names the link
    /// key the peer authenticated with and verifies (whether or not the view takes it: it may be full).
    /// Checked for descriptors of that key only, so gossip costs no extra signature check.
    func introduces(_ bytes: [UInt8], on c: Connection, now: Int64) -> Bool {
        guard let rs = c.remoteStatic, let d = try? NodeDescriptor(bytes: bytes), d.linkKey.bytes == rs else { return false }
        do { try d.verify(network: parameters, now: now) } catch { return false }
        return true
    }

    /// This epoch's map from the view; tells the stages when it changed.
    func rebuild(now: Int64) {
        view.prune(now: now)
        let fresh = view.topology(epoch: parameters.epoch(at: now), now: now)
        let changed = fresh != topology
        topology = fresh
        if changed || viewDirty { onChange() }
    }

    /// Whether the view holds a descriptor of this node (without copying it: the per-packet check).
    func knows(_ id: Bytes32) -> Bool { view.descriptors.index(forKey: id) != nil }

    /// The descriptor of a node, any epoch.
    func descriptor(_ id: Bytes32) -> NodeDescriptor? { view.descriptors[id] }

    /// Whether a descriptor of the view names this link key (one hash lookup).
    func isMember(linkKey: Bytes32) -> Bool { view.names(linkKey: linkKey) }

    /// A descriptor of the view naming this link key.
    func descriptor(linkKey: Bytes32) -> NodeDescriptor? { view.descriptor(linkKey: linkKey) }

    // MARK: Timed

    var nextDeadline: UInt64? {
        if sampling?.solving.isEmpty == false { return EventLoop.now() }   // pushes waiting for their proof of work
        let wall = Clock.wallSeconds()
        let keyEvent = EventLoop.now() &+ UInt64(max(0, nextKeyEvent - wall)) * 1_000_000_000
        return min(nextGossip, keyEvent)
    }

    func fire(now: UInt64) {
        let wall = Clock.wallSeconds()
        if sampling?.solving.isEmpty == false { solvePushes() }
        if wall >= nextKeyEvent { rotate(now: wall) }
        if now >= nextGossip, sampling != nil {
            nextGossip = now &+ samplingInterval
            controlBytes.removeAll(keepingCapacity: true)
            samplingRound(now: wall)
            rebuild(now: wall)
            viewDirty = false
            if wall - lastSave >= Int64(parameters.epochSeconds) {
                save()
                lastSave = wall
            }
        } else if now >= nextGossip {
            let alone = !view.descriptors.values.contains { $0.id != secrets.id }
            roundInterval = learnedNode ? quickGossipInterval
                : alone ? min(max(roundInterval, quickGossipInterval) &* 2, gossipInterval) : gossipInterval
            learnedNode = false
            nextGossip = now &+ roundInterval
            controlBytes.removeAll(keepingCapacity: true)
            gossipRound(now: wall)
            if viewDirty {
                rebuild(now: wall)
                viewDirty = false
                // Kept on disk at most once per epoch (and at stop): an SD card need not rewrite the
                // whole view at every gossip interval.
                if wall - lastSave >= Int64(parameters.epochSeconds) {
                    save()
                    lastSave = wall
                }
            }
        }
    }

    /// Starts one push-pull round with a node chosen at random (a bootstrap peer while none is known).
    func gossipRound(now: Int64) {
        let others = view.descriptors.values.filter { $0.id != secrets.id }
        let digest = GossipFrame.digestFrames(view.digest, senderTime: now, answer: true, limit: controlLimit)
        if others.isEmpty {
            guard !options.bootstrap.isEmpty else { return }
            let peer = options.bootstrap[Int(Random.uniform(UInt32(options.bootstrap.count)))]
            sendControl(digest, peer.linkKey, peer.address)
        } else {
            let peer = others[Int(Random.uniform(UInt32(others.count)))]
            sendControl(digest, peer.linkKey, peer.address)
        }
        counters.stats.gossipRounds += 1
    }

    /// Largest control frame: one byte less than a packet, so the two never look alike.
    var controlLimit: Int { parameters.geometry.packetBytes - 1 }

    /// A control frame from connection `c` (inbound or outbound). Replies go back on `c`.
    func control(_ frame: UnsafeRawBufferPointer, on c: Connection) {
        let used = (controlBytes[c.fd] ?? 0) + frame.count
        controlBytes[c.fd] = used
        guard used <= Self.maxControlBytesPerInterval else {
            counters.stats.gossipRefused += 1
            c.close("gossip flood")
            return
        }
        guard let g = GossipFrame(Array(frame)) else {
            counters.stats.gossipRefused += 1
            c.close("malformed control frame")
            return
        }
        let now = Clock.wallSeconds()
        if sampling != nil {
            // A partial view answers no digest and keeps no gossiped descriptor; a DESCRIPTORS frame still
            // introduces its sender (§4.1).
            if case .descriptors(let list) = g {
                for bytes in list where c.tag == LinkListener.unchecked && introduces(bytes, on: c, now: now) { c.tag = LinkListener.admitted }
                described(list, on: c, now: now)
            } else {
                samplingControl(g, on: c, now: now)
            }
            return
        }
        switch g {
        case .push, .pull, .pulled, .describe:
            counters.stats.gossipRefused += 1   // a full view takes part in no sampling round
        case .digest(let senderTime, let last, let answer, let entries):
            var collected = partialDigests[c.fd] ?? []
            guard collected.count + entries.count <= maxView else {
                counters.stats.gossipRefused += 1
                partialDigests[c.fd] = nil
                c.close("digest too long")
                return
            }
            collected += entries
            guard last else { partialDigests[c.fd] = collected; return }
            partialDigests[c.fd] = nil
            skews = Array((skews + [senderTime - now]).suffix(9))
            if abs(senderTime - now) > NodeDescriptor.maxSkewSeconds {
                counters.stats.clockSkewedPeers += 1
                log("warning: a peer's clock differs from ours by \(senderTime - now) s; check time sync (descriptors may be refused)")
            }
            for f in GossipFrame.descriptorFrames(view.newer(than: collected), limit: controlLimit) { c.send(f) }
            if answer {
                for f in GossipFrame.digestFrames(view.digest, senderTime: now, answer: false, limit: controlLimit) { c.send(f) }
            }
        case .descriptors(let list):
            // Taken descriptors mark the view dirty; the map is rebuilt once per gossip interval, not
            // per frame (a map of 10 000 nodes takes ~0.16 s on x86: docs/BENCH.md). A verified
            // descriptor naming the link key the peer authenticated with introduces it (§4.1): packets
            // from this link are then accepted, whether or not the view keeps the descriptor.
            for bytes in list {
                if c.tag == LinkListener.unchecked && introduces(bytes, on: c, now: now) { c.tag = LinkListener.admitted }
                offer(bytes, now: now)
            }
        }
    }

    /// Saves the view and lets go of the state store (and its lock).
    func close() {
        save()
        state = nil
    }

    func connectionClosed(_ fd: FileDescriptor) {
        partialDigests[fd] = nil
        controlBytes[fd] = nil
    }

    // MARK: Persistence

    func save() {
        guard let state else { return }
        do {
            try state.set("descriptors", NodeDescriptor.encodeList(view.descriptors.values.map { $0.bytes }))
            try state.flush()
        } catch {
            log("warning: cannot save the view: \(error.description)")
        }
    }
}
