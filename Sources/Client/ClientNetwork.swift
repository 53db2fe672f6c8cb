import PosternCrypto
import PosternNetwork
import PosternPacket
import PosternSystem

/// A client's view of the network: the signed descriptors its gateway handed it (VIEW, docs/PROTOCOL.md
/// §4.3), verified here like any node verifies them, so the gateway can leave nodes out but cannot forge
/// or alter one. Kept in the profile between runs and refreshed from the gateway once per epoch; the map
/// of the current epoch (`topology`) is computed from it, as every node computes its own.
public final class ClientNetwork {
    public let parameters: NetworkParameters
    /// Where the client reaches its gateway before it has a view (client.toml `network.gateway`).
    public let bootstrap: Peer
    public private(set) var view: NetworkView
    /// Epoch of the last successful refresh (nil: never).
    public private(set) var refreshedEpoch: UInt32?
    var cached: (epoch: UInt32, topology: Topology)?
    public var now: () -> Int64 = { Clock.wallSeconds() }

    /// `refreshedEpoch`: when the kept descriptors were fetched (so a new process does not fetch again in
    /// the same epoch).
    public init(parameters: NetworkParameters, bootstrap: Peer, descriptors: [[UInt8]] = [], refreshedEpoch: UInt32? = nil) {
        self.parameters = parameters
        self.bootstrap = bootstrap
        self.refreshedEpoch = refreshedEpoch
        view = NetworkView(parameters: parameters)
        let t = Clock.wallSeconds()
        for d in descriptors { _ = view.offer(d, now: t) }
    }

    /// This epoch's map (recomputed once per epoch and after every refresh).
    public var topology: Topology {
        let t = now(), epoch = parameters.epoch(at: t)
        if let cached, cached.epoch == epoch { return cached.topology }
        view.prune(now: t)
        let map = view.topology(epoch: epoch, now: t)
        cached = (epoch, map)
        return map
    }

    /// Whether routes can be built now (a gateway and every layer present).
    public var isRoutable: Bool { topology.isRoutable(layers: parameters.layers) }

    /// True when the view was not refreshed in this epoch.
    public var isStale: Bool { refreshedEpoch != parameters.epoch(at: now()) }

    /// The held descriptors, for the profile.
    public var descriptors: [[UInt8]] { view.descriptors.values.map { $0.bytes } }

    /// A gateway by id in this epoch's map.
    public func gateway(_ id: Bytes32) -> NodeInfo? { topology.gateways.first { $0.id == id } }

    /// The gateway connection to use before any view exists: the bootstrap peer.
    public var bootstrapGateway: NodeInfo {
        NodeInfo(id: .zero, role: .gateway, address: bootstrap.address, clientAddress: bootstrap.address,
                 linkKey: bootstrap.linkKey, packetKey: .zero)
    }

    /// Node ids this client needs in its map whatever its gateway samples: its contacts' gateways, named in
    /// every VIEW (docs/PROTOCOL.md §5.8).
    public var wanted: [Bytes32] = []

    /// Whether a wanted node is missing from this epoch's map (a refresh may bring it).
    public var lacksWanted: Bool { wanted.contains { gateway($0) == nil } }

    /// Fetches the gateway's whole view (paging through VIEW) and takes every descriptor that verifies;
    /// `done(refused)` with the number refused, or nil if the gateway could not be asked.
    public func refresh(via client: GatewayClient, done: @escaping (Int?) -> Void) {
        var refused = 0
        func page(_ offset: Int) {
            client.view(offset: offset, wanted: wanted) { [self] result in
                guard let (total, list) = result else { done(nil); return }
                let t = self.now()
                for d in list where self.view.offer(d, now: t).refusal != nil { refused += 1 }
                let next = offset + list.count
                if next < total && !list.isEmpty {
                    page(next)
                } else {
                    self.refreshedEpoch = self.parameters.epoch(at: t)
                    self.cached = nil
                    done(refused)
                }
            }
        }
        page(0)
    }

    /// Refreshes and waits for it, running `loop` for at most `seconds` (for tools and tests, which have
    /// nothing else to do meanwhile). `via`: the connection to use; default: a new one to the bootstrap
    /// gateway, closed afterwards. The number of refused descriptors, or nil if the gateway did not answer.
    public func refreshNow(loop: EventLoop, seconds: Double, via shared: GatewayClient? = nil) -> Int? {
        let client = shared ?? GatewayClient(loop: loop, gateway: bootstrapGateway)
        defer { if shared == nil { client.onDisconnect = nil; client.close() } }
        var result: Int??
        refresh(via: client) { result = .some($0) }
        let end = EventLoop.now() &+ UInt64(seconds * 1e9)
        while result == nil && EventLoop.now() < end { loop.run(until: min(end, EventLoop.now() &+ 10_000_000)) }
        return result ?? nil
    }

    /// The view as the profile keeps it: version 1 ‖ refreshed epoch (u32 BE) ‖ (length u16 ‖ descriptor)*.
    public var encoded: [UInt8] {
        let e = refreshedEpoch ?? 0
        return [1, UInt8(e >> 24), UInt8(e >> 16 & 0xff), UInt8(e >> 8 & 0xff), UInt8(e & 0xff)] + NodeDescriptor.encodeList(descriptors)
    }

    /// The kept view from `encoded` (nil when damaged): (refreshed epoch, descriptors).
    public static func decode(_ bytes: [UInt8]) -> (epoch: UInt32?, descriptors: [[UInt8]])? {
        guard bytes.count >= 5, bytes[0] == 1 else { return nil }
        let e = bytes[1..<5].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        return (e == 0 ? nil : e, NodeDescriptor.decodeList(bytes[5...]))
    }
}
