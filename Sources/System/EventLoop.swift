import CSystem

/// Something that keeps its own deadlines (a node stage's delay queue, a commit window, a Poisson
/// schedule): before sleeping the loop asks every scheduled one for its next deadline, and on every turn
/// lets each fire what is due. The one timer abstraction of a node: each stage is scheduled on its own,
/// nobody merges deadlines by hand, and no closure is allocated per timed packet.
public protocol Timed: AnyObject {
    /// The earliest monotonic time (ns) at which `fire` has work, or nil for none.
    var nextDeadline: UInt64? { get }
    /// Does the work that is due at `now` (and nothing else).
    func fire(now: UInt64)
}

/// A single-threaded epoll loop: file descriptors with handlers, one-off timers on a heap, scheduled
/// `Timed` stages, and the stop signals.
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
    /// Loop iterations so far: one per wakeup (tests check that waiting does not spin).
    public private(set) var turns = 0
    var stopRequested = false
    /// Called at most once per second when a stop signal (SIGINT/SIGTERM) has arrived.
    public var onStopSignal: ((Int32) -> Void)?
    public var handlesSignals = false
    /// Stages with their own deadlines, fired on every turn.
    var scheduled: [any Timed] = []

    /// Lets `timed` fire on every turn and wakes the loop for its deadlines, until `unschedule`.
    public func schedule(_ timed: any Timed) { scheduled.append(timed) }

    public func unschedule(_ timed: any Timed) { scheduled.removeAll { $0 === timed } }

    /// epoll_wait's output, allocated once (a `run` per turn of a caller's own loop allocates nothing).
    let tokens = UnsafeMutablePointer<UInt64>.allocate(capacity: 64)
    let events = UnsafeMutablePointer<UInt32>.allocate(capacity: 64)

    public init() throws(SystemError) {
        epoll = try check(psys_epoll_create(), "epoll_create")
    }

    deinit {
        _ = psys_close(epoll)
        tokens.deallocate()
        events.deallocate()
    }

    public static func now() -> UInt64 { Clock.monotonicNanoseconds() }

    /// Watches `fd` for `events` (readable/writable), replacing any earlier registration.
    public func watch(_ fd: FileDescriptor, events: UInt32, _ handler: @escaping Handler) throws(SystemError) {
        let op: Int32 = handlers[fd.rawValue] == nil ? 1 : 3
        _ = try check(psys_epoll_ctl(epoll, op, fd.rawValue, events, UInt64(UInt32(bitPattern: fd.rawValue))), "epoll_ctl")
        handlers[fd.rawValue] = handler
    }

    /// Changes the events watched for an already registered fd.
    public func modify(_ fd: FileDescriptor, events: UInt32) {
        _ = psys_epoll_ctl(epoll, 3, fd.rawValue, events, UInt64(UInt32(bitPattern: fd.rawValue)))
    }

    /// Stops watching `fd` (the caller closes it).
    public func unwatch(_ fd: FileDescriptor) {
        if handlers.removeValue(forKey: fd.rawValue) != nil { _ = psys_epoll_ctl(epoll, 2, fd.rawValue, 0, 0) }
    }

    /// Runs `action` once, `delay` nanoseconds from now.
    public func after(_ delay: UInt64, _ action: @escaping () -> Void) {
        timers.insert(action, deadline: Self.now() &+ delay)
    }

    public func stop() { stopRequested = true }

    /// Runs until `stop()` (or a stop signal when `handlesSignals`), until `deadline` (monotonic ns), or
    /// until `stopWhen` holds: it is asked before every turn, i.e. after whatever handlers and timers ran,
    /// which is when it can have changed. So waiting for a condition costs no wakeups of its own (polling
    /// it every 20 ms woke an idle `inbox --watch` 50 times a second). A signal interrupts the wait.
    public func run(until deadline: UInt64? = nil, stopWhen: () -> Bool = { false }) {
        running = true
        stopRequested = false
        defer { running = false }
        while !stopRequested {
            if stopWhen() { break }
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
            for timed in scheduled { timed.fire(now: Self.now()) }
            turns &+= 1
            now = Self.now()
            // The next deadline, rounded *up* to whole milliseconds (epoll's unit): a timer fires up to
            // 1 ms late instead of the loop spinning through the last millisecond before it. At most 1 s
            // without a deadline, so a stop signal that lands just before the wait is seen within a second.
            var wait: UInt64 = 1_000_000_000
            if let next = timers.nextDeadline { wait = min(wait, next > now ? next - now : 0) }
            for timed in scheduled {
                if let next = timed.nextDeadline { wait = min(wait, next > now ? next - now : 0) }
            }
            if let deadline { wait = min(wait, deadline > now ? deadline - now : 0) }
            let timeout = Int32((wait + 999_999) / 1_000_000)
            let n = psys_epoll_wait(epoll, tokens, events, 64, timeout)
            if n <= 0 { continue }
            for i in 0..<Int(n) {
                let fd = Int32(truncatingIfNeeded: tokens[i])
                if let handler = handlers[fd] { handler(events[i]) }
                if stopRequested { return }
            }
        }
    }
}
