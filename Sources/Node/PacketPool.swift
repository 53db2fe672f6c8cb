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

/// Fixed-size packet buffers allocated once: the mixing queue holds packets here while they wait, so a
/// relay allocates nothing per packet and its memory use is bounded by `capacity × packetBytes`.
final class PacketPool {
    let packetBytes: Int
    let capacity: Int
    let storage: UnsafeMutableRawPointer
    var free: [Int32]
    #if DEBUG
    /// Which slots are in `free` (debug builds check every release against it).
    var isFree: [Bool]
    #endif

    init(packetBytes: Int, capacity: Int) {
        self.packetBytes = packetBytes
        self.capacity = capacity
        storage = .allocate(byteCount: packetBytes * capacity, alignment: 64)
        free = (0..<Int32(capacity)).reversed().map { $0 }
        #if DEBUG
        isFree = [Bool](repeating: true, count: capacity)
        #endif
    }

    deinit { storage.deallocate() }

    /// A free slot, or nil when every slot holds a packet.
    func take() -> PacketSlot? {
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

    func pointer(_ slot: borrowing PacketSlot) -> UnsafeMutableRawPointer { storage + Int(slot.index) * packetBytes }
    func buffer(_ slot: borrowing PacketSlot) -> UnsafeMutableRawBufferPointer {
        UnsafeMutableRawBufferPointer(start: pointer(slot), count: packetBytes)
    }
    var inUse: Int { capacity - free.count }
}
