import PosternNetwork
import PosternSystem
/// Fixed-size packet buffers allocated once: the mixing queue holds packets here while they wait, so a
/// relay allocates nothing per packet and its memory use is bounded by `capacity × packetBytes`.
final class PacketPool {
    let packetBytes: Int
    let capacity: Int
    let storage: UnsafeMutableRawPointer
    var free: [Int32]

    init(packetBytes: Int, capacity: Int) {
        self.packetBytes = packetBytes
        self.capacity = capacity
        storage = .allocate(byteCount: packetBytes * capacity, alignment: 64)
        free = (0..<Int32(capacity)).reversed().map { $0 }
    }

    deinit { storage.deallocate() }

    func take() -> Int32? { free.popLast() }
    func release(_ slot: Int32) { free.append(slot) }
    func pointer(_ slot: Int32) -> UnsafeMutableRawPointer { storage + Int(slot) * packetBytes }
    func buffer(_ slot: Int32) -> UnsafeMutableRawBufferPointer {
        UnsafeMutableRawBufferPointer(start: pointer(slot), count: packetBytes)
    }
    var inUse: Int { capacity - free.count }
}
