/// The set of replay tags seen in one epoch: a fixed-capacity open-addressing hash table allocated once,
/// so inserting never allocates. Tags are 128 bits of a per-hop PRF output (uniform), so their low bits
/// index the table directly and linear probing stays short below the 75% load limit.
///
/// When the limit is reached the cache refuses new packets rather than forget old tags: forgetting would
/// let a replay through, refusing only drops traffic. Size it for an epoch's expected packets.
///
/// The table is allocated at the first insert, not before: a node holds keys for epochs ahead (published
/// in advance) whose caches would otherwise take memory long before any packet uses them.
public final class ReplayCache {
    private var table: UnsafeMutablePointer<(UInt64, UInt64)>?
    private let mask: Int
    private let limit: Int
    public private(set) var count = 0
    public let capacity: Int

    /// `capacity` is rounded up to a power of two; memory = 16 bytes × capacity.
    public init(capacity requested: Int) {
        var size = 16
        while size < requested { size <<= 1 }
        capacity = size
        mask = size - 1
        limit = size / 4 * 3
    }

    deinit { table?.deallocate() }

    /// Whether the table exists yet (memory is taken).
    public var isAllocated: Bool { table != nil }

    @inline(__always)
    private var slots: UnsafeMutablePointer<(UInt64, UInt64)> {
        if let table { return table }
        let t = UnsafeMutablePointer<(UInt64, UInt64)>.allocate(capacity: capacity)
        t.initialize(repeating: (0, 0), count: capacity)
        table = t
        return t
    }

    public enum Outcome { case inserted, seen, full }

    /// Records `tag`, reporting whether it was new. The all-zero tag (probability 2⁻¹²⁸) is stored as
    /// (0, 1) because zero marks an empty slot.
    public func insert(_ tag: (UInt64, UInt64)) -> Outcome {
        let key = (tag.0 == 0 && tag.1 == 0) ? (UInt64(0), UInt64(1)) : tag
        let slots = self.slots
        var index = Int(truncatingIfNeeded: key.0) & mask
        while true {
            let slot = slots[index]
            if slot.0 == 0 && slot.1 == 0 { break }
            if slot.0 == key.0 && slot.1 == key.1 { return .seen }
            index = (index + 1) & mask
        }
        guard count < limit else { return .full }
        slots[index] = key
        count += 1
        return .inserted
    }

    /// Forgets every tag (a new epoch reusing the table; benchmarks cycling a fixed packet pool).
    public func removeAll() {
        table?.update(repeating: (0, 0), count: capacity)
        count = 0
    }

    public func contains(_ tag: (UInt64, UInt64)) -> Bool {
        guard let slots = table else { return false }
        let key = (tag.0 == 0 && tag.1 == 0) ? (UInt64(0), UInt64(1)) : tag
        var index = Int(truncatingIfNeeded: key.0) & mask
        while true {
            let slot = slots[index]
            if slot.0 == 0 && slot.1 == 0 { return false }
            if slot.0 == key.0 && slot.1 == key.1 { return true }
            index = (index + 1) & mask
        }
    }
}
