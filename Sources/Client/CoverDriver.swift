import PosternCover
import PosternCrypto
import PosternSystem

/// Runs a client's Loopix streams on the event loop: at each event of the `CoverScheduler` one packet
/// leaves: the next queued real message in a payload slot (else a dummy), a loop, or a drop. Real and
/// cover packets are built and submitted the same way, at times that do not depend on whether a real
/// message was waiting, so the send pattern says nothing about when the user writes.
public final class CoverDriver {
    public let scheduler: CoverScheduler
    let messenger: Messenger
    let loop: EventLoop
    public let loops: LoopMonitor
    public private(set) var sent: (real: Int, payloadDummies: Int, loops: Int, drops: Int) = (0, 0, 0, 0)
    var running = false

    public init(messenger: Messenger, config: CoverConfig, loop: EventLoop) {
        self.messenger = messenger
        self.loop = loop
        scheduler = CoverScheduler(config: config, start: Self.wall())
        loops = LoopMonitor(timeout: config.loopTimeoutSeconds)
        messenger.onLoopReturned = { [loops] address in loops.returned(address.bytes) }
    }

    static func wall() -> Double { Double(Clock.wallNanoseconds()) / 1e9 }

    public func start() {
        running = true
        arm()
    }

    public func stop() { running = false }

    func arm() {
        guard running else { return }
        let delay = max(0, scheduler.nextTime - Self.wall())
        loop.after(UInt64(delay * 1e9)) { [self] in self.fire() }
    }

    func fire() {
        guard running else { return }
        let now = Self.wall()
        while scheduler.nextTime <= now {
            let event = scheduler.take()
            switch event.stream {
            case .payload:
                if !messenger.queue.isEmpty {
                    let text = messenger.queue.removeFirst()
                    messenger.send(text)
                    sent.real += 1
                } else {
                    _ = messenger.sendCover(loop: false)
                    sent.payloadDummies += 1
                }
            case .loop:
                if let address = messenger.sendCover(loop: true) { loops.sent(address.bytes, at: now) }
                sent.loops += 1
            case .drop, .relayLoop:
                _ = messenger.sendCover(loop: false)
                sent.drops += 1
            }
        }
        loops.check(now: now)
        arm()
    }
}
