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

/// A node's sample: `count` min-wise samplers under one secret and each with its own key. Their values
/// are its uniform sample (with repetitions: two samplers can agree) of what it was shown.
///
/// What "shown" counts is the caller's choice of `event`: with event 0 an id is the same whenever it
/// comes, so the sample is uniform over the distinct ids shown (Brahms); with a different event per
/// round (`BrahmsView` passes its round number) each (id, round) is a new draw, so the sample is uniform
/// over arrivals — right for pushes, which the protocol limits to one per sender, receiver and round.
///
/// Windows: `endWindow` (at each epoch boundary) starts a new window and keeps the last one; each value
/// is the smaller-ranked of the sampler's two windows, so the sample covers the last one to two epochs
/// and a newcomer weighs as much as a node that has been there for months after two epochs.
public struct NodeSample<ID: SampleID> {
    public private(set) var samplers: [MinWiseSampler<ID>]
    /// The samplers of the previous window (empty until the first `endWindow`).
    public private(set) var previous: [MinWiseSampler<ID>] = []
    @usableFromInline let k0: UInt64, k1: UInt64

    /// `key()` gives the secret and each sampler's key (the kernel's randomness on a node, a seeded
    /// generator in the simulator).
    public init(count: Int, key: () -> UInt64) {
        k0 = key()
        k1 = key()
        samplers = (0..<count).map { _ in MinWiseSampler(key: key()) }
    }

    /// The secret hash of an id shown as `event` (what its ranks are computed from). Event 0 hashes the
    /// fingerprint alone (mix(0) = 0).
    @inlinable
    public func secretHash(_ id: ID, event: UInt64 = 0) -> UInt64 {
        SipHash24.hash(k0: k0, k1: k1, id.fingerprint ^ MinWiseSampler<ID>.mix(event))
    }

    /// Shows every sampler every id as `event` (duplicates in `ids` are harmless).
    public mutating func next<S: Sequence>(_ ids: S, event: UInt64 = 0) where S.Element == ID {
        for id in ids {
            let h = secretHash(id, event: event)
            for i in samplers.indices { samplers[i].next(id, secretHash: h) }
        }
    }

    /// The sampled ids (without the empty samplers), duplicates included: per sampler, the value of
    /// smaller rank of its two windows.
    public var values: [ID] {
        samplers.indices.compactMap { i in
            guard i < previous.count, let old = previous[i].value else { return samplers[i].value }
            return samplers[i].value == nil || previous[i].best < samplers[i].best ? old : samplers[i].value
        }
    }

    /// Starts a new window: the current one becomes the previous, the older one is forgotten.
    public mutating func endWindow() {
        previous = samplers
        for i in samplers.indices { samplers[i].reset(key: samplers[i].key) }
    }

    /// Resets every sampler (either window) whose value `isDead` says stopped answering, the current
    /// window's with a fresh key; how many samplers lost a value.
    @discardableResult
    public mutating func invalidate(where isDead: (ID) -> Bool, key: () -> UInt64) -> Int {
        var reset = 0
        for i in samplers.indices {
            var lost = false
            if let v = samplers[i].value, isDead(v) {
                samplers[i].reset(key: key())
                lost = true
            }
            if i < previous.count, let v = previous[i].value, isDead(v) {
                previous[i].reset(key: previous[i].key)
                lost = true
            }
            if lost { reset += 1 }
        }
        return reset
    }
}
