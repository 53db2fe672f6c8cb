import PosternCrypto
import PosternPacket
import PosternSystem

/// What one node or client knows of the network: the newest verified descriptor of every identity, and
/// from them the map of any epoch (docs/PROTOCOL.md §5.5). Everyone holding the same descriptors computes
/// the same map: no coordinator assigns layers.
public struct NetworkView {
    public let parameters: NetworkParameters
    /// Newest descriptor per node id.
    public private(set) var descriptors: [Bytes32: NodeDescriptor] = [:]

    public init(parameters: NetworkParameters) { self.parameters = parameters }

    public var count: Int { descriptors.count }

    /// Takes a verified descriptor if it is new or newer than the one held for its node; true if it was
    /// taken. (Verify first: `NodeDescriptor.accept`.)
    @discardableResult
    public mutating func insert(_ d: NodeDescriptor) -> Bool {
        if let held = descriptors[d.id] {
            guard held.published < d.published else { return false }
            forget(held)
        }
        descriptors[d.id] = d
        linkKeys[d.linkKey, default: []].append(d.id)
        return true
    }

    /// The ids of the view's descriptors naming each link key (an index for `names(linkKey:)` and
    /// `descriptor(linkKey:)`; almost always one id).
    private var linkKeys: [Bytes32: [Bytes32]] = [:]

    /// Whether a descriptor of the view names this link key.
    public func names(linkKey: Bytes32) -> Bool { linkKeys[linkKey] != nil }

    /// A descriptor of the view naming this link key (the first taken, if several do).
    public func descriptor(linkKey: Bytes32) -> NodeDescriptor? {
        guard let id = linkKeys[linkKey]?.first else { return nil }
        return descriptors[id]
    }

    private mutating func forget(_ d: NodeDescriptor) {
        guard var ids = linkKeys[d.linkKey] else { return }
        ids.removeAll { $0 == d.id }
        linkKeys[d.linkKey] = ids.isEmpty ? nil : ids
    }

    /// Parses, verifies and inserts; the refusal if it was refused. Nil also when an equal or newer
    /// descriptor was already held (`taken` tells them apart).
    public mutating func offer(_ bytes: [UInt8], now: Int64) -> (taken: Bool, refusal: DescriptorRefusal?) {
        do {
            let d = try NodeDescriptor.accept(bytes, network: parameters, now: now)
            return (insert(d), nil)
        } catch {
            return (false, error)
        }
    }

    /// Forgets one node's descriptor (a partial view letting go of a node it no longer samples).
    public mutating func remove(_ id: Bytes32) {
        if let d = descriptors.removeValue(forKey: id) { forget(d) }
    }

    /// Forgets descriptors that expired before `now`; returns how many.
    @discardableResult
    public mutating func prune(now: Int64) -> Int {
        let gone = descriptors.values.filter { $0.validUntil < now }.map { $0.id }
        for id in gone {
            if let d = descriptors.removeValue(forKey: id) { forget(d) }
        }
        return gone.count
    }

    /// The layer (1 … layers) of every mix in `epoch`: mixes sorted by BLAKE2b-256("postern/layer/v1" ‖
    /// epoch (u32 BE) ‖ identity), then dealt to layers 1, 2, …, L, 1, 2, … So layers differ in size by
    /// at most one, none is empty while there are at least L mixes, and assignments reshuffle every epoch.
    /// Under layer rule 2 (`LayerRule.hashed`) each mix's own layer instead (`layer(of:epoch:layers:)`),
    /// in the order given.
    public static func layers(of mixes: [NodeDescriptor], epoch: UInt32, layers: Int,
                              rule: LayerRule = .deal) -> [(descriptor: NodeDescriptor, layer: Int)] {
        if rule == .hashed { return mixes.map { ($0, layer(of: $0.identity, epoch: epoch, layers: layers)) } }
        let keyed = mixes.map { (d: $0, rank: BLAKE2b.hash(Array("postern/layer/v1".utf8) + bigEndian(epoch) + $0.identity.bytes, outputCount: 32)) }
        let sorted = keyed.sorted { a, b in a.rank.lexicographicallyPrecedes(b.rank) }
        return sorted.enumerated().map { (i, entry) in (entry.d, i % max(1, layers) + 1) }
    }

    /// Layer rule 2: the layer (1 … layers) of the mix with this identity in `epoch`, from its identity
    /// alone: (h mod L) + 1, h = the first 8 bytes, big-endian, of BLAKE2b-256("postern/layer/v2" ‖ epoch
    /// (u32 BE) ‖ identity). Anyone holding the descriptor computes it; the layer changes every epoch.
    public static func layer(of identity: Bytes32, epoch: UInt32, layers: Int) -> Int {
        let h = BLAKE2b.hash(Array("postern/layer/v2".utf8) + bigEndian(epoch) + identity.bytes, outputCount: 32)
        let first = h[0..<8].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        return Int(first % UInt64(max(1, layers))) + 1
    }

    static func bigEndian(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 0xff), UInt8(v >> 8 & 0xff), UInt8(v & 0xff)] }

    /// Whether `d` was republished recently enough to count as alive in `epoch`: a running node signs a
    /// new descriptor at every epoch boundary, so one last published before the previous epoch began
    /// (less a little slack for clocks: a quarter epoch, 1 … 60 s) belongs to a node that stopped. A
    /// stopped node thus leaves every map within two epoch boundaries.
    public func isFresh(_ d: NodeDescriptor, in epoch: UInt32) -> Bool {
        let slack = max(1, min(Int64(parameters.epochSeconds) / 4, 60))
        return epoch == 0 || d.published >= parameters.start(of: epoch &- 1) - slack
    }

    /// The map of `epoch`: every node whose descriptor is valid at `now`, fresh (`isFresh`) and publishes
    /// a packet key for that epoch, mixes in their layers, gateways; sorted by id so every holder lists
    /// them alike. A node with both roles appears twice (as a mix, then as a gateway).
    public func topology(epoch: UInt32, now: Int64) -> Topology {
        let usable = descriptors.values.filter { $0.validUntil >= now && isFresh($0, in: epoch) && $0.packetKey(for: epoch) != nil }
            .sorted { $0.id.bytes.lexicographicallyPrecedes($1.id.bytes) }
        var nodes: [NodeInfo] = []
        for (d, layer) in Self.layers(of: usable.filter { $0.roles.isMix }, epoch: epoch, layers: parameters.layers, rule: parameters.layerRule) {
            nodes.append(NodeInfo(id: d.id, role: .mix(layer: layer), address: d.address, clientAddress: nil,
                                  linkKey: d.linkKey, packetKey: d.packetKey(for: epoch)!))
        }
        for d in usable where d.roles.isGateway {
            nodes.append(NodeInfo(id: d.id, role: .gateway, address: d.address, clientAddress: d.clientAddress,
                                  linkKey: d.linkKey, packetKey: d.packetKey(for: epoch)!))
        }
        let end = parameters.start(of: epoch &+ 1) + parameters.graceSeconds
        return Topology(epoch: epoch, validUntil: end, geometry: parameters.geometry, nodes: nodes)
    }
}

extension Topology {
    /// Whether routes can be built: at least one gateway and every layer 1 … `layers` holds a mix.
    public func isRoutable(layers: Int) -> Bool {
        !gateways.isEmpty && (1...max(1, layers)).allSatisfy { !mixes(layer: $0).isEmpty }
    }
}
