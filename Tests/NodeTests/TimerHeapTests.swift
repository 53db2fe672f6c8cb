import PosternCrypto
import PosternNode
import PosternSystem
import Testing

@Suite struct TimerHeapTests {
    /// 100 000 timers in random order come out in deadline order (FIFO among equal deadlines).
    @Test func orderAtScale() {
        var heap = TimerHeap<Int>()
        var deadlines: [UInt64] = []
        for i in 0..<100_000 {
            let d = UInt64.random(in: 0..<50_000)
            deadlines.append(d)
            heap.insert(i, deadline: d)
        }
        var last: (UInt64, Int) = (0, -1)
        var popped = 0
        while let (deadline, value) = heap.popDue(now: .max) {
            #expect(deadline >= last.0)
            if deadline == last.0 { #expect(value > last.1) }
            #expect(deadlines[value] == deadline)
            last = (deadline, value)
            popped += 1
        }
        #expect(popped == 100_000 && heap.isEmpty)
    }

    @Test func onlyDueEntriesPop() {
        var heap = TimerHeap<String>()
        heap.insert("late", deadline: 100)
        heap.insert("early", deadline: 10)
        #expect(heap.popDue(now: 5) == nil)
        #expect(heap.popDue(now: 50)?.value == "early")
        #expect(heap.popDue(now: 50) == nil && heap.nextDeadline == 100)
    }
}
