/// A binary min-heap of (deadline, sequence, value): O(log n) insert and pop at any size, FIFO among
/// equal deadlines. Storage grows to the high-water mark and is then reused, so a steady stream of
/// timers allocates nothing. Every method is `@inlinable`, so users in other modules get code specialised
/// for their `Value` (unspecialised generic code boxed each tuple it moved: nine mallocs per forwarded
/// packet in the relay before this).
public struct TimerHeap<Value> {
    @usableFromInline var items: [(deadline: UInt64, sequence: UInt64, value: Value)] = []
    @usableFromInline var sequence: UInt64 = 0

    @inlinable
    public init(capacity: Int = 0) { items.reserveCapacity(capacity) }

    @inlinable
    public var count: Int { items.count }
    @inlinable
    public var isEmpty: Bool { items.isEmpty }
    @inlinable
    public var nextDeadline: UInt64? { items.first?.deadline }

    @inlinable @inline(__always)
    func less(_ i: Int, _ j: Int) -> Bool {
        items[i].deadline < items[j].deadline || (items[i].deadline == items[j].deadline && items[i].sequence < items[j].sequence)
    }

    @inlinable
    public mutating func insert(_ value: Value, deadline: UInt64) {
        sequence &+= 1
        items.append((deadline, sequence, value))
        var i = items.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard less(i, parent) else { break }
            items.swapAt(i, parent)
            i = parent
        }
    }

    /// Removes and returns the earliest entry if its deadline is at or before `now`.
    @inlinable
    public mutating func popDue(now: UInt64) -> (deadline: UInt64, value: Value)? {
        guard let first = items.first, first.deadline <= now else { return nil }
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var i = 0
            while true {
                let l = 2 * i + 1, r = l + 1
                var m = i
                if l < items.count && less(l, m) { m = l }
                if r < items.count && less(r, m) { m = r }
                if m == i { break }
                items.swapAt(i, m)
                i = m
            }
        }
        return (first.deadline, first.value)
    }

    /// Removes everything (e.g. at shutdown), returning the values in no particular order.
    @inlinable
    public mutating func drain() -> [Value] {
        defer { items.removeAll(keepingCapacity: true) }
        return items.map { $0.value }
    }
}
