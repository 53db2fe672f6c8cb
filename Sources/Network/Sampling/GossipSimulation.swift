import PosternCrypto

/// The gossip simulator (`postern simulate gossip`): the real `BrahmsView` and `NodeSample` code for
/// thousands of nodes in one process, messages passed in memory, rounds in lock step. Node ids are
/// 32-bit (`SimID`) so 100 000 nodes fit; everything else is the code nodes run.
///
/// The network: `nodes` nodes, a fraction `malicious` of them one coalition that pushes only its own ids
/// (as many as its members may, or with `unlimitedPushes` as many as every honest node accepts without
/// blocking its round) and answers every pull with its own ids only. Each epoch has `roundsPerEpoch` rounds. At the start of
/// epoch 1, `joiners` new honest nodes join, each knowing one bootstrap node. At the start of epoch 2
/// a churn wave: a fraction `churn` of the honest nodes leave silently (the same number of new ones
/// join). Dead nodes answer nothing; at every epoch boundary a node drops from its view and samplers
/// the nodes whose descriptors aged out (they published none for the new epoch), and fetches the new
/// descriptors of the rest.
public struct GossipSimulation {
    public struct Config {
        public var nodes = 1000
        public var malicious = 0.1
        public var churn = 0.1
        public var parameters = BrahmsParameters(viewSize: 40, sampleSize: 40)
        public var roundsPerEpoch = 12
        public var epochs = 4
        public var joiners = 16
        public var epochSeconds = 3600
        public var seed: UInt64 = 1
        /// The coalition's pushes cost nothing (no push limit): the attack the limit exists for.
        public var unlimitedPushes = false
        /// Honest nodes answer pulls with their view alone, as Brahms does (to compare with `pullAnswer`).
        public var answerWithView = false
        /// The coalition singles out this many honest nodes (the first ones): every round it pushes each
        /// of them `acceptedPushes − pushes` of its ids (the flood limit less the honest pushes a node
        /// gets on average: more would block the victim's rounds), and spreads the rest as usual.
        public var victims = 0
        /// The coalition watches its victims: each round it knows how many honest pushes a victim got and
        /// fills exactly the rest up to the flood limit (an upper bound for an attacker that learns this
        /// by pulling the victim's view; the static attack above fills to the average).
        public var adaptiveVictims = false
        /// The coalition's pushes per round against as many honest nodes' (1: as much computing power per
        /// member as an honest node, for the proof of work each push carries, §5.9; 4: four times it).
        public var pushPower = 1.0
        public init() {}
    }

    /// Wire sizes used for the byte counts (docs/PROTOCOL.md §5.6, §5.9).
    public static let descriptorBytes = 320, digestEntryBytes = 40, requestBytes = 48

    /// One report line per epoch.
    public struct EpochReport {
        public var epoch = 0
        public var honestNodes = 0
        public var bytesPerNode = 0.0
        public var bytesPerClient = 0.0
        public var maliciousInSamples = 0.0
        public var maliciousInViews = 0.0
        /// The coalition's share of the singled-out victims' samples (`Config.victims`), and how many of
        /// their rounds were flooded this epoch.
        public var maliciousInVictimSamples = 0.0
        public var victimFloodedRounds = 0
        public var deadInSamplesBeforeRefresh = 0.0
        public var deadInSamplesAfterRefresh = 0.0
        public var joinersReached = 0.0
        /// How often the joiners hold a slot of honest samples, against a node's fair share (live
        /// nodes): 1 means a joiner is as likely as any node to be chosen for a route.
        public var joinersInSamples = 0.0
        public var roundsToReach: Int? = nil
        public var floodedRounds = 0
        public var cutOffRounds = 0
        public var memoryPerNode = 0
    }

    public let config: Config
    var random: SimRandom
    /// Per node: its Brahms state (nil: malicious, modelled as one coalition) and whether it is alive.
    var states: [BrahmsView<SimID>?] = []
    var alive: [Bool] = []
    /// Bit i: this node has heard joiner i (it went to its samplers).
    var heard: [UInt64] = []
    var joinerIDs: [SimID] = []
    var maliciousIDs: [SimID] = []
    /// The singled-out honest nodes (`Config.victims`), and their flooded rounds this epoch.
    var victims: Range<Int> { maliciousIDs.count..<min(maliciousIDs.count + config.victims, states.count) }
    var victimFlooded = 0
    var bytes = 0.0
    var round = 0
    /// The round (counted from the joiners' arrival) after which 99% of honest nodes had heard them all.
    var reachedAt: Int?

    public init(_ config: Config) {
        self.config = config
        random = SimRandom(seed: config.seed)
        let m = Int(Double(config.nodes) * config.malicious)
        for i in 0..<config.nodes {
            alive.append(true)
            heard.append(0)
            if i < m {
                states.append(nil)
                maliciousIDs.append(SimID(UInt32(i)))
            } else {
                states.append(nil)   // made below, once every id exists
            }
        }
        // Honest nodes start from a random view of honest and malicious ids alike (a bootstrapped network).
        for i in m..<config.nodes {
            var boot: [SimID] = []
            for _ in 0..<config.parameters.viewSize { boot.append(SimID(random.below(UInt32(config.nodes)))) }
            states[i] = makeNode(SimID(UInt32(i)), bootstrap: boot)
        }
    }

    mutating func makeNode(_ id: SimID, bootstrap: [SimID]) -> BrahmsView<SimID> {
        var r = random
        let node = BrahmsView(me: id, parameters: config.parameters, bootstrap: bootstrap, key: { r.next() })
        random = r
        return node
    }

    func isMalicious(_ id: SimID) -> Bool { Int(id.value) < maliciousIDs.count }

    /// Runs every epoch; `progress` gets each epoch's report as it ends, `roundDone` the number of rounds
    /// run so far after each.
    public mutating func run(roundDone: (Int) -> Void = { _ in }, progress: (EpochReport) -> Void) {
        for epoch in 0..<config.epochs {
            if epoch == 1 { join(config.joiners, tracked: true) }
            if epoch == 2 { churnWave() }
            bytes = 0
            var report = EpochReport()
            report.epoch = epoch
            for r in 0..<config.roundsPerEpoch {
                let (flooded, cutOff) = gossipRound()
                report.floodedRounds += flooded
                report.cutOffRounds += cutOff
                roundDone(round)
                if epoch >= 1 && reachedAt == nil && joinerReach() >= 0.99 { reachedAt = (epoch - 1) * config.roundsPerEpoch + r + 1 }
            }
            report.joinersReached = epoch >= 1 ? joinerReach() : 0
            report.roundsToReach = reachedAt
            report.deadInSamplesBeforeRefresh = fraction { !alive[Int($0.value)] }
            refreshEpoch()
            report.deadInSamplesAfterRefresh = fraction { !alive[Int($0.value)] }
            report.maliciousInSamples = fraction { isMalicious($0) }
            if epoch >= 1 && !joinerIDs.isEmpty {
                let live = alive.filter { $0 }.count
                report.joinersInSamples = fraction { joinerIndex($0) != nil } / (Double(joinerIDs.count) / Double(live))
            }
            report.maliciousInViews = fraction(views: true) { isMalicious($0) }
            report.maliciousInVictimSamples = fraction(of: victims) { isMalicious($0) }
            report.victimFloodedRounds = victimFlooded
            victimFlooded = 0
            let honest = states.indices.filter { states[$0] != nil && alive[$0] }.count
            report.honestNodes = honest
            report.bytesPerNode = bytes / Double(max(honest, 1))
            // A client fetches its gateway's sample and the gateway's own descriptor each epoch (VIEW,
            // PROTOCOL.md §5.9; pins and layers the sample misses aside).
            report.bytesPerClient = Double((config.parameters.sampleSize + 1) * Self.descriptorBytes + Self.requestBytes)
            report.memoryPerNode = (config.parameters.viewSize + config.parameters.sampleSize) * (Self.descriptorBytes + 64)
                + config.parameters.sampleSize * MemoryLayout<MinWiseSampler<Bytes32>>.stride
            progress(report)
        }
    }

    /// One lock-step round: every live honest node pushes and pulls; the coalition pushes its ids.
    mutating func gossipRound() -> (flooded: Int, cutOff: Int) {
        let n = states.count, p = config.parameters
        var pushed = [[SimID]](repeating: [], count: n)
        var pulled = [[SimID]](repeating: [], count: n)
        var r = random
        let below: (UInt32) -> UInt32 = { r.below($0) }
        var honestAlive: [Int] = []
        for i in 0..<n where alive[i] && states[i] != nil { honestAlive.append(i) }
        for i in honestAlive {
            let node = states[i]!
            for t in node.pushTargets(random: below) {
                bytes += Double(Self.descriptorBytes)
                let ti = Int(t.value)
                if alive[ti] && states[ti] != nil { pushed[ti].append(node.me) }
            }
            for t in node.pullTargets(random: below) {
                bytes += Double(Self.requestBytes)
                let ti = Int(t.value)
                guard alive[ti] else { continue }
                if let other = states[ti] {
                    let answer = config.answerWithView ? other.view : other.pullAnswer()
                    pulled[i] += answer
                    bytes += Double(2 * answer.count * Self.digestEntryBytes)   // sent by one, received by the other
                } else {
                    for _ in 0..<p.viewSize { pulled[i].append(maliciousIDs[Int(r.below(UInt32(maliciousIDs.count)))]) }
                    bytes += Double(p.viewSize * Self.digestEntryBytes)
                }
            }
        }
        // The coalition's pushes. Limited (the protocol's push limit, §5.9): its members together send
        // as many pushes as honest nodes of their number (`pushPower` times that), spread at random over honest nodes that still
        // have room below the flood limit (blocking a round gains the attacker nothing). Unlimited
        // (pushes cost nothing): every honest node gets coalition ids up to its flood limit, every round.
        if !maliciousIDs.isEmpty && !honestAlive.isEmpty {
            if config.unlimitedPushes {
                for i in honestAlive {
                    let room = min(p.acceptedPushes - pushed[i].count, maliciousIDs.count)
                    guard room > 0 else { continue }
                    let start = Int(r.below(UInt32(maliciousIDs.count)))
                    for k in 0..<room { pushed[i].append(maliciousIDs[(start + k) % maliciousIDs.count]) }
                }
            } else {
                var budget = Int((Double(maliciousIDs.count * p.pushes) * config.pushPower).rounded()), attempts = budget * 4
                for v in victims where alive[v] && states[v] != nil {
                    // Distinct ids count towards the flood limit; honest pushes are distinct.
                    let room = config.adaptiveVictims ? max(0, p.acceptedPushes - pushed[v].count) : p.acceptedPushes - p.pushes
                    for _ in 0..<room where budget > 0 {
                        pushed[v].append(maliciousIDs[Int(r.below(UInt32(maliciousIDs.count)))])
                        budget -= 1
                    }
                }
                while budget > 0 && attempts > 0 {
                    attempts -= 1
                    let target = honestAlive[Int(r.below(UInt32(honestAlive.count)))]
                    guard pushed[target].count < p.acceptedPushes && !victims.contains(target) else { continue }
                    pushed[target].append(maliciousIDs[Int(r.below(UInt32(maliciousIDs.count)))])
                    budget -= 1
                }
            }
        }
        var flooded = 0, cutOff = 0
        for i in honestAlive {
            let before = Set(states[i]!.view)
            let outcome = states[i]!.endRound(pushed: pushed[i], pulled: pulled[i], random: below)
            switch outcome {
            case .flooded:
                flooded += 1
                if victims.contains(i) { victimFlooded += 1 }
            case .cutOff: cutOff += 1
            case .renewed, .joining: break
            }
            // Descriptors of ids new to the view are fetched (counted), and joiners that reached the
            // samplers are marked.
            for id in states[i]!.view where !before.contains(id) { bytes += Double(Self.descriptorBytes) }
            if !joinerIDs.isEmpty {
                let (pushes, pulls) = states[i]!.sampled(outcome)
                for id in (pushes ? pushed[i] : []) + (pulls ? pulled[i] : []) {
                    if let j = joinerIndex(id) { heard[i] |= 1 << UInt64(j) }
                }
            }
        }
        random = r
        round += 1
        return (flooded, cutOff)
    }

    func joinerIndex(_ id: SimID) -> Int? {
        guard let first = joinerIDs.first, id.value >= first.value, Int(id.value - first.value) < joinerIDs.count else { return nil }
        return Int(id.value - first.value)
    }

    /// New honest nodes (appended), each knowing one random live honest node.
    mutating func join(_ count: Int, tracked: Bool) {
        let honest = states.indices.filter { states[$0] != nil && alive[$0] }
        let start = states.count
        for k in 0..<count {
            let id = SimID(UInt32(start + k))
            let boot = SimID(UInt32(honest[Int(random.below(UInt32(honest.count)))]))
            states.append(makeNode(id, bootstrap: [boot]))
            alive.append(true)
            heard.append(0)
            if tracked && k < 64 { joinerIDs.append(id) }
            bytes += Double(Self.descriptorBytes)
        }
    }

    /// A fraction `churn` of the honest nodes leave; as many new ones join.
    mutating func churnWave() {
        let honest = states.indices.filter { states[$0] != nil && alive[$0] && joinerIndex(SimID(UInt32($0))) == nil }
        let leaving = Int(Double(honest.count) * config.churn)
        var pool = honest
        for k in 0..<leaving {
            let j = k + Int(random.below(UInt32(pool.count - k)))
            pool.swapAt(k, j)
            alive[pool[k]] = false
        }
        join(leaving, tracked: false)
    }

    /// The epoch boundary: every live honest node drops the dead from its view and samplers (their
    /// descriptors aged out) and fetches the new descriptors of the rest (counted).
    mutating func refreshEpoch() {
        var r = random
        for i in states.indices where alive[i] && states[i] != nil {
            states[i]!.endEpoch(isGone: { !alive[Int($0.value)] }, key: { r.next() })
            bytes += Double((states[i]!.view.count + config.parameters.sampleSize) * (Self.requestBytes + Self.descriptorBytes))
        }
        random = r
    }

    /// Share of the honest live nodes that have heard a joiner, averaged over the joiners.
    func joinerReach() -> Double {
        guard !joinerIDs.isEmpty else { return 0 }
        var total = 0, heardPairs = 0
        for i in states.indices where alive[i] && states[i] != nil && joinerIndex(SimID(UInt32(i))) == nil {
            total += 1
            heardPairs += heard[i].nonzeroBitCount
        }
        return Double(heardPairs) / Double(max(total * joinerIDs.count, 1))
    }

    /// Share of the ids in honest live nodes' samples (or views) for which `test` holds.
    func fraction(views: Bool = false, of nodes: Range<Int>? = nil, _ test: (SimID) -> Bool) -> Double {
        var total = 0, hits = 0
        for i in nodes ?? states.indices where alive[i] {
            guard let s = states[i] else { continue }
            for id in views ? s.view : s.sample.values {
                total += 1
                if test(id) { hits += 1 }
            }
        }
        return Double(hits) / Double(max(total, 1))
    }
}

/// A simulated node id.
public struct SimID: SampleID {
    public let value: UInt32
    public init(_ value: UInt32) { self.value = value }
    /// Spread over 64 bits (splitmix64's finaliser), as real ids' first 8 bytes are.
    public var fingerprint: UInt64 { MinWiseSampler<SimID>.mix(UInt64(value) &+ 0x9e37_79b9_7f4a_7c15) }
}

/// xoshiro256** seeded by splitmix64: the simulator's deterministic generator (not for keys).
public struct SimRandom {
    var s: (UInt64, UInt64, UInt64, UInt64)

    public init(seed: UInt64) {
        var x = seed
        func split() -> UInt64 { x &+= 0x9e37_79b9_7f4a_7c15; return MinWiseSampler<SimID>.mix(x) }
        s = (split(), split(), split(), split())
    }

    public mutating func next() -> UInt64 {
        func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { x << k | x >> (64 - k) }
        let result = rotl(s.1 &* 5, 7) &* 9
        let t = s.1 << 17
        s.2 ^= s.0; s.3 ^= s.1; s.1 ^= s.2; s.0 ^= s.3
        s.2 ^= t
        s.3 = rotl(s.3, 45)
        return result
    }

    /// Uniform in 0..<bound (Lemire's multiply-shift; the bias is below 2⁻³² for the bounds used here).
    public mutating func below(_ bound: UInt32) -> UInt32 {
        UInt32(((next() >> 32) &* UInt64(bound)) >> 32)
    }
}
