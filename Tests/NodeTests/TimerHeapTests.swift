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

/// A stage that wants to fire every `period` nanoseconds.
final class Ticker: Timed {
    let period: UInt64
    var next: UInt64
    var fired = 0
    init(period: UInt64) {
        self.period = period
        next = EventLoop.now() &+ period
    }
    var nextDeadline: UInt64? { next }
    func fire(now: UInt64) {
        guard now >= next else { return }
        fired += 1
        next = now &+ period
    }
}

@Suite struct EventLoopTests {
    /// Waiting for a deadline sleeps instead of spinning: the loop wakes about once per firing. (Rounded
    /// down to whole milliseconds it polled through the last millisecond before every deadline: tens of
    /// thousands of turns in 200 ms.)
    @Test func waitingDoesNotSpin() throws {
        let loop = try EventLoop()
        let ticker = Ticker(period: 2_500_000)   // 2.5 ms
        loop.schedule(ticker)
        loop.run(until: EventLoop.now() &+ 200_000_000)
        #expect(ticker.fired >= 20, "fired \(ticker.fired) times")
        #expect(loop.turns <= 3 * ticker.fired + 10, "\(loop.turns) turns for \(ticker.fired) firings")
    }

    /// With nothing to do the loop sleeps until its deadline (or a second).
    @Test func anIdleLoopSleeps() throws {
        let loop = try EventLoop()
        loop.run(until: EventLoop.now() &+ 1_200_000_000)
        #expect(loop.turns <= 3, "\(loop.turns) turns in 1.2 s")
    }
}
