import PosternCrypto
import PosternPacket

/// Who may join a network.
public enum Admission: Equatable, Sendable {
    /// Anyone with a well-formed, self-signed descriptor joins (docs/PROTOCOL.md §5.4 says what that
    /// allows an attacker).
    case open
    /// Only identities holding a membership certificate signed by this network key (Ed25519) join.
    case certified(networkKey: Bytes32)
}

/// How mixes are put in layers each epoch (docs/PROTOCOL.md §5.5).
public enum LayerRule: UInt8, Equatable, Sendable {
    /// Version 1: every mix of the map sorted by a per-epoch hash and dealt round the layers (sizes differ
    /// by at most one; needs every mix's descriptor).
    case deal = 1
    /// Version 2: a mix's layer follows from its own descriptor (a per-epoch hash mod L), so a node or
    /// client holding only a sample of the network knows the layer of every mix it holds; layer sizes
    /// then differ by chance. For large networks (§5.9).
    case hashed = 2
}

/// What every node and client of one network agrees on: the epoch length, the mix layers, the packet
/// geometry, the admission rule and the layer rule. Their hash is the network id that every descriptor carries, so a
/// descriptor of another network (or of the same name with other parameters) is refused.
public struct NetworkParameters: Equatable, Sendable {
    /// Epoch e runs from e × epochSeconds to (e + 1) × epochSeconds (unix time); packet keys rotate at
    /// every boundary.
    public var epochSeconds: UInt32
    /// Mix layers every route crosses.
    public var layers: Int
    public var geometry: Geometry
    public var admission: Admission
    public var layerRule: LayerRule
    /// Partial views (docs/PROTOCOL.md §5.9): the proof of work each PUSH carries, in leading zero bits
    /// (`PushWork`); 0 = pushes cost nothing. Only with layer rule 2.
    public var pushWorkBits: UInt8

    public init(epochSeconds: UInt32 = 3600, layers: Int = 3, geometry: Geometry = .standard, admission: Admission = .open,
                layerRule: LayerRule = .deal, pushWorkBits: UInt8 = 0) {
        self.epochSeconds = epochSeconds
        self.layers = layers
        self.geometry = geometry
        self.admission = admission
        self.layerRule = layerRule
        self.pushWorkBits = pushWorkBits
    }

    public static let maxPushWorkBits: UInt8 = 32

    /// The length of a partial view's gossip round and of a push's slot (`PushWork`): E/12 in whole
    /// milliseconds, at least 500.
    public var roundMillis: UInt64 { max(UInt64(epochSeconds) * 1000 / 12, 500) }

    /// The push slot at unix time `millis` (ms): ⌊millis / roundMillis⌋.
    public func pushSlot(atMillis millis: Int64) -> UInt64 { UInt64(max(0, millis)) / roundMillis }

    /// The epoch at unix time `t`.
    public func epoch(at t: Int64) -> UInt32 { UInt32(clamping: max(0, t) / Int64(epochSeconds)) }

    /// Unix time at which `epoch` begins.
    public func start(of epoch: UInt32) -> Int64 { Int64(epoch) * Int64(epochSeconds) }

    /// How long after its epoch ends a packet key is still accepted (packets in flight at the
    /// boundary): one epoch, at most 5 minutes (five hops of the 60 s maximum delay).
    public var graceSeconds: Int64 { min(Int64(epochSeconds), 300) }

    /// The parameters' canonical encoding (docs/PROTOCOL.md §5.1):
    ///     "postern-network 1" ‖ epoch seconds (4) ‖ layers (1) ‖ max hops (1) ‖ payload bytes (4)
    ///     ‖ admission (1: 0 open, 1 certified) ‖ network key (32, certified only)
    /// with the deal (layer rule 1); with layer rule 2, "postern-network 2" and the layer rule (1 byte, 2)
    /// after the payload bytes; with a push work of b > 0 bits (rule 2 only), "postern-network 3", the
    /// layer rule and b (1 byte). Networks keep the id they had before rule 2 and push work existed.
    public var encoded: [UInt8] {
        var w = WireWriter()
        let label = layerRule == .deal ? "postern-network 1" : pushWorkBits == 0 ? "postern-network 2" : "postern-network 3"
        w.raw(Array(label.utf8))
        w.u32(epochSeconds)
        w.u8(UInt8(clamping: layers))
        w.u8(UInt8(clamping: geometry.maxHops))
        w.u32(UInt32(clamping: geometry.payloadBytes))
        if layerRule != .deal { w.u8(layerRule.rawValue) }
        if layerRule != .deal && pushWorkBits > 0 { w.u8(pushWorkBits) }
        switch admission {
        case .open: w.u8(0)
        case .certified(let key):
            w.u8(1)
            w.raw(key.bytes)
        }
        return w.bytes
    }

    /// BLAKE2b-256 of `encoded`: names the network in every descriptor.
    public var id: Bytes32 { Bytes32(BLAKE2b.hash(encoded, outputCount: 32))! }

    /// Refuses parameters no network can run with.
    public func check() throws(NetworkError) {
        guard epochSeconds >= 2, epochSeconds <= 86_400 * 7 else { throw .parameters("epoch length must be 2 s … 7 days") }
        guard layers >= 1, layers <= 8 else { throw .parameters("layers must be 1 … 8") }
        guard layers + 2 <= geometry.maxHops else { throw .parameters("routes of \(layers) layers need max hops ≥ \(layers + 2)") }
        guard pushWorkBits <= Self.maxPushWorkBits else { throw .parameters("push work must be 0 … \(Self.maxPushWorkBits) bits") }
        guard pushWorkBits == 0 || layerRule == .hashed else { throw .parameters("push work is for partial views, which need layer rule 2") }
    }
}

/// Failures of the network layer's records and parameters, each one line.
public enum NetworkError: Error, Equatable, CustomStringConvertible {
    case parameters(String)
    case refused(DescriptorRefusal)

    public var description: String {
        switch self {
        case .parameters(let why): "network parameters: \(why)"
        case .refused(let why): "descriptor refused: \(why.description)"
        }
    }
}
