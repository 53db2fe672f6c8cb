import PosternCrypto

/// What a sampler can hold: an id with a 64-bit fingerprint (a node id's first 8 bytes: node ids are
/// BLAKE2b hashes of identity keys, so the fingerprint is as uniform as the id).
public protocol SampleID: Hashable {
    var fingerprint: UInt64 { get }
}

extension Bytes32: SampleID {
    /// The first 8 bytes, little-endian.
    public var fingerprint: UInt64 { UInt64(littleEndian: words.0) }
}

/// A min-wise sampler (Brahms, Bortnikov et al. 2009, §4.1): of every id it is shown it keeps the one of
/// smallest rank. Ranks are `mix(secretHash ^ key)`: `secretHash` is SipHash-2-4 of the id's fingerprint
/// under its sample's secret (one per id, shared by the sample's samplers), `key` is this sampler's own
/// random word, and `mix` a bijection of 64-bit words (splitmix64's finaliser). Nobody without the
/// secret can predict an id's rank, so the value is a uniform choice among the distinct ids shown,
/// however often each was shown: pushing one id a thousand times buys nothing.
///
/// Invariant (tested): `value` is the shown id of smallest rank.
public struct MinWiseSampler<ID: SampleID> {
    public private(set) var key: UInt64
    public private(set) var value: ID?
    public private(set) var best: UInt64 = .max

    public init(key: UInt64) { self.key = key }

    /// The rank of an id whose secret hash is `h`.
    @inlinable
    public func rank(secretHash h: UInt64) -> UInt64 { Self.mix(h ^ key) }

    @inlinable @inline(__always)
    public static func mix(_ z0: UInt64) -> UInt64 {
        var z = z0
        z = (z ^ (z &>> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z &>> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z &>> 31)
    }

    /// Shows the sampler one id, whose secret hash is `h`.
    @inlinable
    public mutating func next(_ id: ID, secretHash h: UInt64) {
        let r = rank(secretHash: h)
        if r < best || value == nil { setValue(id, r) }
    }

    @usableFromInline
    mutating func setValue(_ id: ID, _ r: UInt64) {
        value = id
        best = r
    }

    /// Forgets the value and starts over with a new key (its node stopped answering).
    public mutating func reset(key: UInt64) {
        self.key = key
        value = nil
        best = .max
    }
}

/// A node's sample: `count` min-wise samplers over the stream of ids it hears, under one secret and
/// each with its own key. Their values are its uniform sample of the network (with repetitions: two
/// samplers can agree).
public struct NodeSample<ID: SampleID> {
    public private(set) var samplers: [MinWiseSampler<ID>]
    @usableFromInline let k0: UInt64, k1: UInt64

    /// `key()` gives the secret and each sampler's key (the kernel's randomness on a node, a seeded
    /// generator in the simulator).
    public init(count: Int, key: () -> UInt64) {
        k0 = key()
        k1 = key()
        samplers = (0..<count).map { _ in MinWiseSampler(key: key()) }
    }

    /// The secret hash of an id (what its ranks are computed from).
    @inlinable
    public func secretHash(_ id: ID) -> UInt64 { SipHash24.hash(k0: k0, k1: k1, id.fingerprint) }

    /// Shows every sampler every id (duplicates in `ids` are harmless).
    public mutating func next<S: Sequence>(_ ids: S) where S.Element == ID {
        for id in ids {
            let h = secretHash(id)
            for i in samplers.indices { samplers[i].next(id, secretHash: h) }
        }
    }

    /// The sampled ids (without the empty samplers), duplicates included.
    public var values: [ID] { samplers.compactMap { $0.value } }

    /// Resets, with fresh keys, every sampler whose value `isDead` says stopped answering; how many.
    @discardableResult
    public mutating func invalidate(where isDead: (ID) -> Bool, key: () -> UInt64) -> Int {
        var reset = 0
        for i in samplers.indices {
            if let v = samplers[i].value, isDead(v) {
                samplers[i].reset(key: key())
                reset += 1
            }
        }
        return reset
    }
}
