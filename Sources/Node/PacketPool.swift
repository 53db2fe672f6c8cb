/// Ownership of one packet buffer of the pool. It cannot be copied: it moves from stage to stage (mix
/// queue, outgoing link, gateway deposit) and goes back with `PacketPool.release` exactly once, so a slot
/// cannot be released twice or be used after its release; dropping one without releasing it traps in
/// debug builds (a slot leaked from the pool would shrink it for good).
/// (`@frozen`: Embedded Swift allows `discard self` only in frozen types.)
@frozen @usableFromInline
struct PacketSlot: ~Copyable {
    @usableFromInline let index: Int32

    init(_ index: Int32) { self.index = index }

    /// Gives up the handle, for a queue that keeps slots by index (`TimerHeap`, a link's pending list);
    /// the queue turns the index back into a handle with `PacketSlot(_:)` when it hands it on.
    consuming func parked() -> Int32 {
        let index = self.index
        discard self
        return index
    }

    deinit { assertionFailure("packet slot \(index) dropped without being released") }
}

/// Fixed-size packet buffers: the mixing queue holds packets here while they wait, so a relay allocates
/// nothing per packet and its memory use is bounded by `capacity × packetBytes`. The buffers come in
/// chunks of `chunkSlots`, allocated when the slots in hand run out and kept from then on: an idle node
/// holds one chunk (170 KiB), not the whole capacity (10.8 MiB by default), and a busy one what its
/// busiest moment needed. Allocation happens only while the high-water mark rises, never in steady state.
final class PacketPool {
    static let chunkSlots = 64
    let packetBytes: Int
    let capacity: Int
    /// The chunks allocated so far; slot i lives in chunk i / chunkSlots.
    var chunks: [UnsafeMutableRawPointer] = []
    var free: [Int32] = []
    #if DEBUG
    /// Which slots are in `free` (debug builds check every release against it).
    var isFree: [Bool] = []
    #endif

    init(packetBytes: Int, capacity: Int) {
        self.packetBytes = packetBytes
        self.capacity = capacity
        chunks.reserveCapacity((capacity + Self.chunkSlots - 1) / Self.chunkSlots)
        free.reserveCapacity(capacity)
        #if DEBUG
        isFree.reserveCapacity(capacity)
        #endif
        grow()
    }

    deinit { for c in chunks { c.deallocate() } }

    /// Slots allocated so far (the high-water mark, rounded up to a chunk).
    var allocated: Int { min(capacity, chunks.count * Self.chunkSlots) }

    /// One more chunk (fewer slots if the capacity ends inside it); false at capacity.
    @discardableResult
    func grow() -> Bool {
        let first = allocated
        guard first < capacity else { return false }
        let count = min(Self.chunkSlots, capacity - first)
        chunks.append(.allocate(byteCount: packetBytes * Self.chunkSlots, alignment: 64))
        // Lowest index last, so slots are handed out in order.
        for i in (first..<(first + count)).reversed() { free.append(Int32(i)) }
        #if DEBUG
        isFree.append(contentsOf: repeatElement(true, count: count))
        #endif
        return true
    }

    /// A free slot, or nil when every slot holds a packet.
    func take() -> PacketSlot? {
        if free.isEmpty { grow() }
        guard let index = free.popLast() else { return nil }
        #if DEBUG
        isFree[Int(index)] = false
        #endif
        return PacketSlot(index)
    }

    func release(_ slot: consuming PacketSlot) {
        let index = slot.parked()
        #if DEBUG
        assert(!isFree[Int(index)], "packet slot \(index) released twice")
        isFree[Int(index)] = true
        #endif
        free.append(index)
    }

    @inline(__always)
    func pointer(_ slot: borrowing PacketSlot) -> UnsafeMutableRawPointer {
        let i = Int(slot.index)
        return chunks[i / Self.chunkSlots] + (i % Self.chunkSlots) * packetBytes
    }
    func buffer(_ slot: borrowing PacketSlot) -> UnsafeMutableRawBufferPointer {
        UnsafeMutableRawBufferPointer(start: pointer(slot), count: packetBytes)
    }
    var inUse: Int { allocated - free.count }
}
