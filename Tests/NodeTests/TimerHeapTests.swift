import Foundation
import PosternCrypto
import PosternLink
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

    /// Waiting for a condition wakes the loop only when something happens: it is checked after every
    /// turn, not polled (the CLI polled it every 20 ms: an idle `inbox --watch` woke 50 times a second).
    @Test func waitingForAConditionDoesNotPoll() throws {
        let loop = try EventLoop()
        let start = EventLoop.now()
        loop.run(until: start &+ 1_200_000_000) { false }
        #expect(loop.turns <= 3, "\(loop.turns) turns in 1.2 s")
        var done = false
        loop.after(50_000_000) { done = true }
        let before = EventLoop.now()
        loop.run(until: before &+ 5_000_000_000) { done }
        #expect(done && EventLoop.now() - before < 2_000_000_000)
    }

    /// With nothing to do the loop sleeps until its deadline (or a second).
    @Test func anIdleLoopSleeps() throws {
        let loop = try EventLoop()
        loop.run(until: EventLoop.now() &+ 1_200_000_000)
        #expect(loop.turns <= 3, "\(loop.turns) turns in 1.2 s")
    }
}

@Suite struct ConnectionFairnessTests {
    /// A peer that has sent six hundred frames gets about `framesPerTurn` (128) of them handled per turn;
    /// the rest follow in later turns (it used to be read until the socket was empty, starving every
    /// other connection and timer for as long as the flood lasted).
    @Test func aFloodIsReadInBoundedTurns() throws {
        let loop = try EventLoop()
        let listener = try TCP.listen("127.0.0.1", 0)
        defer { listener.close() }
        let serverKey = Random.bytes(32)
        let serverPublic = X25519.publicKey(of: SecretKey(copying: serverKey))
        var server: Connection?
        var received = 0, stopAtFirst = false
        try loop.watch(listener, events: EventLoop.readable) { _ in
            guard let fd = try? TCP.accept(listener), let hs = try? NoiseHandshake(pattern: .NK, initiator: false, prologue: [1],
                                                                                  staticKey: serverKey) else { return }
            let c = Connection(fd: fd, loop: loop, handshake: hs, maxFrame: 4096, maxQueued: 4 << 20)
            c.onMessage = { _, _ in
                received += 1
                if stopAtFirst && received == 1 { loop.stop() }   // the loop returns once this handler does
            }
            c.start()
            server = c
        }
        let client = Connection(fd: try TCP.connect("127.0.0.1", TCP.localPort(listener)), loop: loop,
                                handshake: try NoiseHandshake(pattern: .NK, initiator: true, prologue: [1], remoteStatic: serverPublic),
                                maxFrame: 4096, maxQueued: 4 << 20, connecting: true)
        client.start()
        let end = EventLoop.now() &+ 5_000_000_000
        while !(client.isEstablished && server?.isEstablished == true) && EventLoop.now() < end { loop.run(until: EventLoop.now() &+ 5_000_000) }
        #expect(client.isEstablished)
        for _ in 0..<600 { #expect(client.send(Random.bytes(200))) }
        #expect(client.queuedBytes == 0, "the flood is in the socket, not in our queue")
        Thread.sleep(forTimeInterval: 0.05)
        // One readiness event: the server handles a bounded batch, not the whole flood.
        stopAtFirst = true
        loop.run(until: EventLoop.now() &+ 1_000_000_000)
        stopAtFirst = false
        // 128, plus what the read that crossed it had already brought in (one frame buffer: 4 KiB here).
        #expect(received > 0 && received <= 128 + 4098 / 218, "\(received) frames in one turn")
        while received < 600 && EventLoop.now() < end { loop.run(until: EventLoop.now() &+ 5_000_000) }
        #expect(received == 600)
        client.close("done")
        server?.close("done")
    }
}

/// ChildProcess (the seam's posix_spawn): stderr lands in the log file, exit statuses and SIGTERM are
/// reported, CPU time is read from the child's clock.
@Suite struct ChildProcessTests {
    let dir = NSTemporaryDirectory() + "postern-child-" + UUID().uuidString

    @Test func aChildWritesItsLogAndReportsItsExit() throws {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let c = try ChildProcess("/bin/sh", ["-c", "echo to-stdout; echo to-stderr >&2; exit 3"], logPath: dir + "/log")
        var status: Int32?
        let end = Date().addingTimeInterval(10)
        while status == nil && Date() < end { status = c.exitStatus(); Thread.sleep(forTimeInterval: 0.01) }
        #expect(status == 3)
        #expect(c.log == "to-stderr\n")
    }

    @Test func stopEndsARunningChildWithSIGTERM() throws {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // A busy loop, so its CPU clock moves.
        let c = try ChildProcess("/bin/sh", ["-c", "while :; do :; done"], logPath: dir + "/log")
        let end = Date().addingTimeInterval(10)
        while c.cpuNanoseconds < 20_000_000 && Date() < end { Thread.sleep(forTimeInterval: 0.01) }
        #expect(c.cpuNanoseconds >= 20_000_000)
        #expect(c.exitStatus() == nil)
        #expect(c.stop() == 128 + 15)
    }

    /// `run` puts stdout and stderr, in the order written, into a file the child opens itself (the parent
    /// holds no descriptor for it, so no other thread of the parent can close or reuse one under it), and
    /// a log the child cannot open is an error, not a child writing nowhere.
    @Test func runCollectsBothStreamsInAFileTheChildOpens() throws {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let status = try ChildProcess.run("/bin/sh", ["-c", "echo one; echo two >&2; echo three; exit 4"], outputPath: dir + "/out")
        #expect(status == 4)
        #expect(try String(contentsOfFile: dir + "/out", encoding: .utf8) == "one\ntwo\nthree\n")
        let attributes = try FileManager.default.attributesOfItem(atPath: dir + "/out")
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        #expect(throws: SystemError.self) { try ChildProcess("/bin/sh", ["-c", "exit 0"], logPath: dir + "/no-such-dir/log") }
    }

    @Test func aMissingProgramIsAnError() {
        #expect(throws: SystemError.self) { try ChildProcess(dir + "/no-such-program", [], logPath: "/dev/null") }
    }

    @Test func theExecutablePathIsThisProgram() throws {
        let path = try #require(ChildProcess.executablePath)
        #expect(FileManager.default.isExecutableFile(atPath: path))
    }
}
