import PosternCover
import PosternCrypto
import PosternNetwork
import PosternPacket
import PosternSystem

/// The Loopix streams of a profile-based client (`postern inbox --watch` with `[cover] enabled`): at each
/// event of the `CoverScheduler` exactly one packet leaves. A payload event sends the next due message
/// of the outbox (through `sendReal`) or, with none due, a dummy (a drop carrying an acknowledgement SURB,
/// as a message does); loop events send a loop back to the own gateway; drop events a drop. Real messages therefore leave only at payload-slot times that do not
/// depend on when the person wrote, and the uplink rate is the schedule's, within its daily byte budget.
///
/// Loops (and their acknowledgements) are watched and fetched by the POLL of the session that shares the
/// connection (`Session.cover`) and deleted here; the loop monitor reports sustained loss.
public final class ClientCover {
    public let scheduler: CoverScheduler
    public let loops: LoopMonitor
    let courier: Courier
    let client: GatewayClient
    let loop: EventLoop
    /// Loops and acknowledgements still expected at the own gateway.
    public var outstanding: Int { watched.count }
    /// Called at each payload slot: submit one real message if one is due; true if it did.
    public var sendReal: () -> Bool = { false }
    public private(set) var sent: (real: Int, dummies: Int, loops: Int, drops: Int) = (0, 0, 0, 0)
    /// Addresses to fetch and delete: a loop's (isLoop) or a cover acknowledgement's, with when it left.
    var watched: [Bytes32: (isLoop: Bool, sentAt: Double)] = [:]
    var running = false

    /// The schedule's clock (seconds since 1970), and how many of its seconds pass in one real second:
    /// the wall clock at 1 for people; a bench replays a day in minutes (`postern-bench mobile`).
    public let clock: ScheduleClock
    public struct ScheduleClock {
        public var start: Double
        public var speed: Double
        let real0: UInt64
        /// The wall clock.
        public static var wall: ScheduleClock { ScheduleClock(start: ClientCover.wall(), speed: 1) }
        /// `start` now, then `speed` schedule seconds per real second.
        public init(start: Double, speed: Double) {
            self.start = start
            self.speed = speed
            real0 = Clock.monotonicNanoseconds()
        }
        public var now: Double { start + Double(Clock.monotonicNanoseconds() &- real0) / 1e9 * speed }
    }

    /// `spent`: what earlier runs sent today (from the profile), counted against today's budget.
    public init(courier: Courier, client: GatewayClient, config: CoverConfig, loop: EventLoop, spent: CoverSpend? = nil,
                clock: ScheduleClock = .wall) {
        self.courier = courier
        self.client = client
        self.loop = loop
        self.clock = clock
        scheduler = CoverScheduler(config: config, start: clock.now, spent: spent)
        loops = LoopMonitor(timeout: config.loopTimeoutSeconds)
    }

    static func wall() -> Double { Clock.wallTime() }

    /// `config` with what each event, each poll and the rest cost on a client's link, so that the
    /// scheduler's levels keep *every* byte to and from the gateway inside the budget (docs/COVER.md).
    /// Wire bytes of one Noise frame: 2 (length) + plaintext + 16 (tag); a SUBMIT is op, id and packet,
    /// its answer op, id, status; a padded control request (DELETE, POLL with changes) 1 048, its answer
    /// 24; an item in a POLL answer 42 + its blob (an acknowledgement: 17 + payload; a returned loop:
    /// 1 + its 97–608 random bytes, 353 on average).
    public static func costed(_ config: CoverConfig, geometry: Geometry, pollSeconds: Double, mapBytes: Int, epochSeconds: Int) -> CoverConfig {
        var c = config
        let submit = 2 + 5 + geometry.packetBytes + 16 + 24
        let delete = 2 + 5 + ClientRequest.controlBodyBytes + 16 + 24
        let ack = 42 + 17 + geometry.payloadBytes + delete
        let loopItem = 42 + 1 + 353 + delete
        c.payloadEventBytes = submit + ack        // a dummy or a message: its acknowledgement comes back
        c.loopEventBytes = submit + loopItem + ack
        c.dropEventBytes = submit
        // A poll is padded when the watched addresses changed since the last one: each payload slot and
        // loop adds addresses and, once back, removes them, about 2 (λP + λL) changes a poll interval
        // (Poisson); without changes it is 28 bytes. Its answer without items is 27.
        let changes = 2 * (config.payloadRate + config.loopRate) * pollSeconds
        let padded = 1 - Exponential.exp(-changes)
        c.pollBytes = Int((padded * Double(2 + 5 + ClientRequest.controlBodyBytes + 16) + (1 - padded) * 28).rounded()) + 27
        c.pollSeconds = pollSeconds
        // The map once an epoch, and a reconnection's handshake (about one an hour).
        c.otherBytesPerSecond = Double(mapBytes + 24 * 6) / Double(max(1, epochSeconds)) + 100.0 / 3600
        return c
    }

    public func start() {
        running = true
        arm()
    }

    public func stop() { running = false }

    func arm() {
        guard running else { return }
        loop.after(UInt64(max(0, scheduler.nextTime - clock.now) / clock.speed * 1e9)) { [self] in self.fire() }
    }

    func fire() {
        guard running else { return }
        let now = clock.now
        while scheduler.nextTime <= now {
            switch scheduler.take().stream {
            case .payload:
                if sendReal() { sent.real += 1 } else { cover(loop: false, acknowledged: true, now: now); sent.dummies += 1 }
            case .loop:
                cover(loop: true, now: now)
                sent.loops += 1
            case .drop, .relayLoop:
                cover(loop: false, now: now)
                sent.drops += 1
            }
        }
        checkLoops(now: now)
        arm()
    }

    func cover(loop isLoop: Bool, acknowledged: Bool = false, now: Double) {
        guard let c = courier.coverPacket(loop: isLoop, acknowledged: acknowledged) else { return }
        if let address = c.loopAddress {
            watched[address] = (true, now)
            loops.sent(address.bytes, at: now, through: c.mixes)
        }
        if let ack = c.ack { watched[ack.address] = (false, now) }
        client.submit(c.packet, cover: true) { _, _ in }
    }

    /// Gives up loops past the timeout; each lost one counts against the mixes it went through.
    func checkLoops(now: Double) {
        for path in loops.check(now: now) { courier.health.record(path, returned: false, now: Clock.wallTime()) }
    }

    /// The addresses a session's POLL watches for the cover: loops and acknowledgements sent within twice
    /// the loop timeout (past it nothing counts any more; the gateway's TTL removes what still comes).
    public func wanted() -> [Bytes32] {
        let now = clock.now
        watched = watched.filter { now - $0.value.sentAt <= 2 * loops.timeout }
        checkLoops(now: now)
        return Array(watched.keys)
    }

    /// Takes a fetched item if it is a returned loop or a cover acknowledgement (deleting it at the
    /// gateway); false if it is not the cover's.
    public func take(_ item: GatewayClient.Fetched) -> Bool {
        guard let entry = watched.removeValue(forKey: item.address) else { return false }
        if entry.isLoop, let path = loops.returned(item.address.bytes) { courier.health.record(path, returned: true, now: Clock.wallTime()) }
        client.delete(address: item.address, id: item.id)
        return true
    }
}
