import PosternCover
import PosternCrypto
import PosternNetwork
import PosternPacket
import PosternSystem

/// The anonymity simulator (`postern simulate anonymity`, docs/ANONYMITY.md): a deterministic
/// discrete-event simulation of clients and a layered network that runs the code clients and nodes run
/// where it decides what an observer sees: every client's `CoverScheduler` (Poisson streams, levels, the
/// budget), `Topology.randomMixPath`/`randomGateway` for routes and `Topology.hop` for the sender-chosen
/// exponential delays, and a `TimerHeap` ordered like a node's `MixQueue`. What it leaves out is the
/// cryptography (a packet is its route) and real sockets (each link adds a fixed latency).
///
/// **Entropy** (Loopix, §5 of Piotrowska et al. 2017): a global passive observer watches one target
/// message leave its sender and follows it. Every node's pool is memoryless (exponential delays with one
/// mean), so whichever packet leaves a pool next is equally likely to be any packet in it: if the pool holds
/// n packets and carries probability M of being the target, the departing packet is the target with
/// probability M/n and the pool keeps M − M/n. Probabilities flow along links; the gateway's entry pool
/// (packets from clients, which leave only to layer 1) is kept apart from its exits (which only deposit).
/// The entropy after hop h is H = −Σ p log₂ p over every packet leaving stage h (p normalised by the
/// probability that left, ≥ 0.99 for a target to count); stage 0 is the entry gateway, 1…L the mix layers;
/// layer L is end to end, what the observer can link to a delivery at a gateway.
///
/// **Latency**: from a person queueing a message to the recipient fetching it: the wait for a payload
/// slot, link latency per hop, the four delayed hops (entry gateway, mixes; the final gateway deposits at
/// once), and the recipient's wait for its next fetch (every `pollSeconds`, at a phase of its own).
public struct AnonymitySimulation {
    public struct Config {
        public var layers = 3
        public var mixesPerLayer = 4
        public var gateways = 4
        public var clients = 200
        /// Per-hop mean mixing delay the senders choose.
        public var meanDelayMillis = 200.0
        /// The clients' streams and budget (scheduler levels included).
        public var cover = LatencyMode.fast.parameters!.cover()
        public var pollSeconds = 2.0
        /// Messages each client writes per hour (a Poisson process), to random other clients.
        public var messagesPerHour = 6.0
        /// One-way latency of every link (client–gateway and node–node).
        public var linkMillis = 10.0
        /// Simulated time: targets are messages written after `warmupSeconds`; nobody writes after
        /// `seconds`; the network runs `drainSeconds` more (cover continues) to deliver what is in flight.
        public var seconds = 1800.0
        public var warmupSeconds = 300.0
        public var drainSeconds = 120.0
        /// Target messages followed (spread over the measured time).
        public var targets = 200
        public var seed: UInt64 = 1
        public init() {}

        /// The parameters of a named mode (`custom` keeps these).
        public mutating func apply(_ mode: LatencyMode) {
            guard let p = mode.parameters else { return }
            meanDelayMillis = Double(p.meanDelayMillis)
            cover = p.cover(cover)
            pollSeconds = Double(p.pollSeconds)
        }
    }

    public struct Report {
        /// Mean entropy (bits) over targets after each stage: [entry gateway, layer 1, …, layer L].
        public var entropy: [Double] = []
        /// Targets whose probability left the last layer (≥ 0.99) within the run: the ones averaged.
        public var targetsFollowed = 0
        /// End-to-end latency percentiles (s) of messages written after the warm-up.
        public var latencyP50 = 0.0, latencyP90 = 0.0, latencyP99 = 0.0, latencyMean = 0.0
        public var messagesDelivered = 0, messagesWritten = 0
        /// Uplink packet bytes per client per day (the schedulers' own count) and fetches per day.
        public var uplinkBytesPerClientDay = 0.0
        public var fetchesPerClientDay = 0.0
        /// Packets that entered the network (all kinds, acks included).
        public var packets = 0
        public var endToEnd: Double { entropy.last ?? 0 }
    }

    final class Rng {
        var state: SimRandom
        init(_ seed: UInt64) { state = SimRandom(seed: seed) }
        func next() -> UInt64 { state.next() }
        func exponential(mean: Double) -> Double { Exponential.sample(mean: mean, uniform53: next()) }
    }

    enum Kind { case real, dummy, drop, loop, ack }

    /// A packet in flight: its pools (one per delayed hop) with the delays its sender chose, where it
    /// ends, and the probability it carries of being each target.
    struct Flight {
        var pools: [Int32] = []
        var delays: [UInt32] = []
        var next = 0
        var kind = Kind.drop
        var finalGateway: Int32 = 0
        var sender: Int32 = 0, recipient: Int32 = 0
        var writtenAt = 0.0
        var target: Int32 = -1
        var masses: [(target: Int32, mass: Double)] = []
    }

    enum Event { case slot(Int32), write(Int32), arrive(Int32), depart(Int32) }

    struct Pool {
        var count = 0
        /// The layer an observer sees packets leave from (0: entry gateway).
        var stage = 0
        var masses: [Int32: Double] = [:]
    }

    public let config: Config
    let rng: Rng
    let topology: Topology
    /// The node index of each gateway (a node's id is its index in its first word).
    let gatewayIndex: [Int]
    var pools: [Pool] = []
    var flights: [Flight] = []
    var freeFlights: [Int32] = []
    var events = TimerHeap<Event>(capacity: 4096)
    var schedulers: [CoverScheduler] = []
    var homes: [Int32] = []
    var phases: [Double] = []
    var outbox: [[Double]] = []
    var latencies: [Double] = []
    var written = 0, targetStride = 1, targetsMade = 0, packets = 0
    /// Per target and stage: Σm and Σ m log₂ m over departures.
    var sumM: [[Double]] = [], sumMLogM: [[Double]] = []
    static let start = 20_000.0 * 86_400   // a day boundary, as the schedulers count days

    public init(_ config: Config) {
        self.config = config
        rng = Rng(config.seed)
        var nodes: [NodeInfo] = []
        func id(_ i: Int) -> Bytes32 { Bytes32(words: (UInt64(i), 0, 0, 0)) }
        for layer in 1...config.layers {
            for _ in 0..<config.mixesPerLayer {
                nodes.append(NodeInfo(id: id(nodes.count), role: .mix(layer: layer), address: "", linkKey: .zero, packetKey: .zero))
                pools.append(Pool(stage: layer))
            }
        }
        var gateways: [Int] = []
        for _ in 0..<config.gateways {
            gateways.append(nodes.count)
            nodes.append(NodeInfo(id: id(nodes.count), role: .gateway, address: "", linkKey: .zero, packetKey: .zero))
            pools.append(Pool(stage: 0))   // its entry pool
        }
        gatewayIndex = gateways
        topology = Topology(epoch: 1, validUntil: .max, geometry: .standard, nodes: nodes)
        let measured = config.seconds - config.warmupSeconds
        let expected = Double(config.clients) * config.messagesPerHour * measured / 3600
        targetStride = max(1, Int(expected / Double(max(1, config.targets))))
        for c in 0..<config.clients {
            let r = rng
            schedulers.append(CoverScheduler(config: config.cover, start: Self.start, random: { r.next() }, power: { .mains }))
            homes.append(Int32(c % config.gateways))
            phases.append(Double(rng.next() >> 11) / 9_007_199_254_740_992.0 * config.pollSeconds)
            outbox.append([])
            schedule(.slot(Int32(c)), at: schedulers[c].nextTime - Self.start)
            if config.messagesPerHour > 0 { schedule(.write(Int32(c)), at: rng.exponential(mean: 3600 / config.messagesPerHour)) }
        }
    }

    func micros(_ seconds: Double) -> UInt64 { UInt64(max(0, seconds) * 1e6) }
    mutating func schedule(_ e: Event, at seconds: Double) { events.insert(e, deadline: micros(seconds)) }
    var link: Double { config.linkMillis / 1000 }

    /// Runs the whole simulation; `progress` gets a line every simulated 10 minutes.
    public mutating func run(progress: (String) -> Void = { _ in }) -> Report {
        let end = config.seconds + config.drainSeconds
        var nextProgress = 600.0
        while let deadline = events.nextDeadline, Double(deadline) / 1e6 < end {
            let (_, event) = events.popDue(now: deadline)!
            let now = Double(deadline) / 1e6
            if now >= nextProgress { progress("simulated \(Int(now)) of \(Int(end)) s"); nextProgress += 600 }
            switch event {
            case .slot(let c): slot(Int(c), now)
            case .write(let c): write(Int(c), now)
            case .arrive(let f): arrive(f, now)
            case .depart(let f): depart(f, now)
            }
        }
        return report(end: end)
    }

    mutating func write(_ c: Int, _ now: Double) {
        if now < config.seconds {
            outbox[c].append(now)
            schedule(.write(Int32(c)), at: now + rng.exponential(mean: 3600 / config.messagesPerHour))
        }
    }

    /// One event of client `c`'s scheduler: exactly one packet leaves, as in `ClientCover.fire`.
    mutating func slot(_ c: Int, _ now: Double) {
        let s = schedulers[c]
        let stream = s.take().stream
        schedule(.slot(Int32(c)), at: s.nextTime - Self.start)
        let home = homes[c]
        var f = Flight()
        f.sender = Int32(c)
        switch stream {
        case .payload:
            if outbox[c].isEmpty { f.kind = .dummy } else {
                f.kind = .real
                f.writtenAt = outbox[c].removeFirst()
                var r = Int32(Topology.uniformIndex(config.clients - 1, rng.next()))
                if r >= Int32(c) { r += 1 }
                f.recipient = r
                if f.writtenAt >= config.warmupSeconds {
                    written += 1
                    if written % targetStride == 0 && targetsMade < config.targets {
                        f.target = Int32(targetsMade)
                        f.masses = [(Int32(targetsMade), 1.0)]
                        targetsMade += 1
                        sumM.append([Double](repeating: 0, count: config.layers + 1))
                        sumMLogM.append([Double](repeating: 0, count: config.layers + 1))
                    }
                }
            }
        case .loop: f.kind = .loop
        case .drop, .relayLoop: f.kind = .drop
        }
        let last: Int32
        switch f.kind {
        case .real: last = homes[Int(f.recipient)]
        case .loop: last = home
        default: last = Int32(topology.randomGateway(random: rng.next)!.id.words.0) - Int32(config.layers * config.mixesPerLayer)
        }
        // [own gateway] + one mix per layer, with the sender's delays; the final gateway deposits.
        let own = topology.nodes[gatewayIndex[Int(home)]]
        let route = [own] + topology.randomMixPath(random: rng.next)
        f.pools = [Int32(config.layers * config.mixesPerLayer) + home] + route.dropFirst().map { Int32($0.id.words.0) }
        f.delays = route.map { topology.hop($0, meanDelayMicros: config.meanDelayMillis * 1000, random: rng.next).delayMicros }
        f.finalGateway = last
        launch(f, at: now + link)
    }

    mutating func launch(_ f: Flight, at time: Double) {
        packets += 1
        let index: Int32
        if let free = freeFlights.popLast() { index = free; flights[Int(free)] = f } else { index = Int32(flights.count); flights.append(f) }
        schedule(.arrive(index), at: time)
    }

    mutating func arrive(_ i: Int32, _ now: Double) {
        let f = flights[Int(i)]
        let p = Int(f.pools[f.next])
        pools[p].count += 1
        for (k, m) in f.masses { pools[p].masses[k, default: 0] += m }
        flights[Int(i)].masses = []
        schedule(.depart(i), at: now + Double(f.delays[f.next]) / 1e6)
    }

    mutating func depart(_ i: Int32, _ now: Double) {
        let p = Int(flights[Int(i)].pools[flights[Int(i)].next])
        let n = Double(pools[p].count)
        var out: [(target: Int32, mass: Double)] = []
        var keep: [Int32: Double] = [:]
        for (k, total) in pools[p].masses {
            let m = total / n
            out.append((k, m))
            if m > 0 {
                sumM[Int(k)][pools[p].stage] += m
                sumMLogM[Int(k)][pools[p].stage] += m * Exponential.ln(m) / Exponential.ln(2)
            }
            if total - m > 1e-12 { keep[k] = total - m }
        }
        pools[p].masses = keep
        pools[p].count -= 1
        flights[Int(i)].masses = out
        flights[Int(i)].next += 1
        if flights[Int(i)].next < flights[Int(i)].pools.count {
            schedule(.arrive(i), at: now + link)
        } else {
            deliver(flights[Int(i)], at: now + link)
            freeFlights.append(i)
        }
    }

    /// The last layer hands the packet to its final gateway, which deposits it at once; a message, a
    /// payload dummy or a loop carries an acknowledgement SURB the gateway answers at once (three mixes,
    /// then the sender's gateway); drop-stream packets carry none.
    mutating func deliver(_ f: Flight, at now: Double) {
        if f.kind == .real && f.writtenAt >= config.warmupSeconds {
            let r = Int(f.recipient)
            let period = config.pollSeconds
            let polls = ((now - phases[r]) / period).rounded(.up)
            latencies.append(phases[r] + polls * period + 2 * link - f.writtenAt)
        }
        guard f.kind != .drop && f.kind != .ack else { return }
        var ack = Flight()
        ack.kind = .ack
        let route = topology.randomMixPath(random: rng.next)
        ack.pools = route.map { Int32($0.id.words.0) }
        ack.delays = route.map { topology.hop($0, meanDelayMicros: config.meanDelayMillis * 1000, random: rng.next).delayMicros }
        ack.finalGateway = homes[Int(f.sender)]
        launch(ack, at: now + link)
    }

    func report(end: Double) -> Report {
        var r = Report()
        for stage in 0...config.layers {
            var total = 0.0, counted = 0
            for k in 0..<sumM.count where sumM[k][stage] >= 0.99 {
                let s = sumM[k][stage]
                total += -sumMLogM[k][stage] / s + Exponential.ln(s) / Exponential.ln(2)
                counted += 1
            }
            r.entropy.append(counted == 0 ? 0 : total / Double(counted))
        }
        r.targetsFollowed = sumM.filter { $0[config.layers] >= 0.99 }.count
        let sorted = latencies.sorted()
        func percentile(_ q: Double) -> Double { sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int(q * Double(sorted.count)))] }
        r.latencyP50 = percentile(0.5); r.latencyP90 = percentile(0.9); r.latencyP99 = percentile(0.99)
        r.latencyMean = sorted.isEmpty ? 0 : sorted.reduce(0, +) / Double(sorted.count)
        r.messagesDelivered = latencies.count
        r.messagesWritten = written
        let bytes = schedulers.reduce(0.0) { $0 + Double($1.bytesToday) } / Double(max(1, config.clients))
        r.uplinkBytesPerClientDay = bytes / end * 86_400
        r.fetchesPerClientDay = 86_400 / config.pollSeconds
        r.packets = packets
        return r
    }
}
