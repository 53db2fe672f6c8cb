import CSystem

/// A single-threaded epoll loop: file descriptors with handlers, timers on a heap, and the stop signals.
///
/// No thread per connection; a handler runs to completion and must not block. Registration tokens are
/// the file descriptors themselves.
public final class EventLoop {
    public typealias Handler = (_ events: UInt32) -> Void
    public static let readable = UInt32(PSYS_EV_IN), writable = UInt32(PSYS_EV_OUT)
    public static let error = UInt32(PSYS_EV_ERR), hangup = UInt32(PSYS_EV_HUP)

    let epoll: Int32
    var handlers: [Int32: Handler] = [:]
    var timers = TimerHeap<() -> Void>()
    public private(set) var running = false
    var stopRequested = false
    /// Called at most once per second when a stop signal (SIGINT/SIGTERM) has arrived.
    public var onStopSignal: ((Int32) -> Void)?
    public var handlesSignals = false
    /// Work run on every loop iteration (a node popping due packets from its own delay heap), each with
    /// its next deadline, so no closure is allocated per scheduled packet.
    var tickers: [(id: Int, tick: () -> Void, deadline: () -> UInt64?)] = []
    var nextTicker = 0

    @discardableResult
    public func addTicker(tick: @escaping () -> Void, deadline: @escaping () -> UInt64?) -> Int {
        nextTicker += 1
        tickers.append((nextTicker, tick, deadline))
        return nextTicker
    }

    public func removeTicker(_ id: Int) { tickers.removeAll { $0.id == id } }

    public init() throws(SystemError) {
        epoll = try check(psys_epoll_create(), "epoll_create")
    }

    deinit { _ = psys_close(epoll) }

    public static func now() -> UInt64 { Clock.monotonicNanoseconds() }

    /// Watches `fd` for `events` (readable/writable), replacing any earlier registration.
    public func watch(_ fd: Int32, events: UInt32, _ handler: @escaping Handler) throws(SystemError) {
        let op: Int32 = handlers[fd] == nil ? 1 : 3
        _ = try check(psys_epoll_ctl(epoll, op, fd, events, UInt64(UInt32(bitPattern: fd))), "epoll_ctl")
        handlers[fd] = handler
    }

    /// Changes the events watched for an already registered fd.
    public func modify(_ fd: Int32, events: UInt32) {
        _ = psys_epoll_ctl(epoll, 3, fd, events, UInt64(UInt32(bitPattern: fd)))
    }

    /// Stops watching `fd` (the caller closes it).
    public func unwatch(_ fd: Int32) {
        if handlers.removeValue(forKey: fd) != nil { _ = psys_epoll_ctl(epoll, 2, fd, 0, 0) }
    }

    /// Runs `action` once, `delay` nanoseconds from now.
    public func after(_ delay: UInt64, _ action: @escaping () -> Void) {
        timers.insert(action, deadline: Self.now() &+ delay)
    }

    public func stop() { stopRequested = true }

    /// Runs until `stop()` (or a stop signal when `handlesSignals`), or until `deadline` (monotonic ns).
    public func run(until deadline: UInt64? = nil) {
        running = true
        stopRequested = false
        defer { running = false }
        var tokens = [UInt64](repeating: 0, count: 64), events = [UInt32](repeating: 0, count: 64)
        while !stopRequested {
            if handlesSignals, psys_stop_signal() != 0 {
                if let onStopSignal { onStopSignal(psys_stop_signal()) } else { stopRequested = true }
                if stopRequested { break }
            }
            var now = Self.now()
            if let deadline, now >= deadline { break }
            while let due = timers.popDue(now: now) {
                due.value()
                if stopRequested { return }
            }
            for ticker in tickers { ticker.tick() }
            now = Self.now()
            var timeout: Int64 = 250
            if let next = timers.nextDeadline { timeout = min(timeout, Int64((next > now ? next - now : 0) / 1_000_000)) }
            for ticker in tickers {
                if let next = ticker.deadline() { timeout = min(timeout, Int64((next > now ? next - now : 0) / 1_000_000)) }
            }
            if let deadline { timeout = min(timeout, Int64((deadline > now ? deadline - now : 0) / 1_000_000)) }
            // Sub-millisecond timers: poll without sleeping rather than round up to 1 ms.
            let n = tokens.withUnsafeMutableBufferPointer { t in events.withUnsafeMutableBufferPointer { e in
                psys_epoll_wait(epoll, t.baseAddress, e.baseAddress, 64, Int32(timeout))
            } }
            if n <= 0 { continue }
            for i in 0..<Int(n) {
                let fd = Int32(truncatingIfNeeded: tokens[i])
                if let handler = handlers[fd] { handler(events[i]) }
                if stopRequested { return }
            }
        }
    }
}
