import PosternCrypto
@testable import PosternNetwork
import Testing

/// The partial-view gossip's sampler and view rule (docs/PROTOCOL.md §5.9), against their invariants.
@Suite struct SamplingTests {
    @Test func aSamplerHoldsTheShownIdOfSmallestRankWhateverTheOrderAndRepetition() {
        var r = SimRandom(seed: 7)
        let ids = (0..<500).map { _ in Bytes32.random() }
        let sample = NodeSample<Bytes32>(count: 1, key: { r.next() })
        var forward = sample, backward = sample, repeated = sample
        forward.next(ids)
        backward.next(ids.reversed())
        repeated.next(ids + ids + Array(repeating: ids[3], count: 1000))
        let expected = ids.min { sample.samplers[0].rank(secretHash: sample.secretHash($0)) < sample.samplers[0].rank(secretHash: sample.secretHash($1)) }
        #expect(forward.values == [expected!])
        #expect(backward.values == forward.values && repeated.values == forward.values)
    }

    /// One id pushed a thousand times among 99 others shown once: samplers pick it about 1 time in
    /// 100 (uniform over distinct ids), not 1000 in 1099 (uniform over the stream).
    @Test func repeatingAnIdDoesNotBiasTheSample() {
        var r = SimRandom(seed: 11)
        let ids = (0..<100).map { SimID(UInt32($0)) }
        var stream = ids
        stream += Array(repeating: ids[0], count: 1000)
        var sample = NodeSample<SimID>(count: 10_000, key: { r.next() })
        sample.next(stream)
        let hits = sample.values.filter { $0 == ids[0] }.count
        // Binomial(10 000, 0.01): mean 100, sd ≈ 10; the stream-uniform bias would give ≈ 9 100.
        #expect(hits > 50 && hits < 160, "\(hits)")
        // Every sampler holds one of the shown ids.
        #expect(sample.values.count == 10_000 && sample.values.allSatisfy { $0.value < 100 })
    }

    @Test func deadIdsAreResetAndTheSamplerStartsOver() {
        var r = SimRandom(seed: 3)
        var sample = NodeSample<SimID>(count: 64, key: { r.next() })
        sample.next((0..<50).map { SimID(UInt32($0)) })
        let dead = Set(sample.values.prefix(5))
        let reset = sample.invalidate(where: { dead.contains($0) }, key: { r.next() })
        #expect(reset >= 5)
        #expect(sample.values.allSatisfy { !dead.contains($0) })
        #expect(sample.values.count == 64 - reset)
    }

    @Test func theViewKeepsItsBoundsAndIsBlockedWhenFloodedOrCutOff() {
        var r = SimRandom(seed: 5)
        let p = BrahmsParameters(viewSize: 20, sampleSize: 10)
        let me = SimID(0)
        var v = BrahmsView(me: me, parameters: p, bootstrap: (0..<30).map { SimID(UInt32($0)) }, key: { r.next() })
        #expect(v.view.count == 20 && !v.view.contains(me))
        let below: (UInt32) -> UInt32 = { r.below($0) }
        for round in 0..<50 {
            let before = v.view, sampledBefore = v.sample.values
            let pushes = (0..<(round % 3 == 0 ? p.acceptedPushes + 1 : p.pushes)).map { SimID(UInt32(100 + round * 50 + $0)) }
            let pulls = round % 5 == 1 ? [] : (0..<40).map { SimID(UInt32(5000 + $0 * 7 + round)) } + [me]
            let outcome = v.endRound(pushed: pushes + [me], pulled: pulls, random: below)
            #expect(v.view.count <= p.viewSize && Set(v.view).count == v.view.count && !v.view.contains(me))
            if round % 3 == 0 {
                #expect(outcome == .flooded && v.view == before)
            } else if round % 5 == 1 {
                #expect(outcome == .cutOff && v.view == before)
            } else {
                #expect(outcome == .renewed)
                let heard = Set(pushes + pulls + sampledBefore)
                #expect(v.view.allSatisfy { heard.contains($0) })
            }
        }
        // The samplers took the pushes of rounds that were not flooded, and nothing else: not the flooded
        // rounds' pushes, not the pulled ids (the node was never joining), not its own id.
        let sampled = v.sample.values.filter { $0.value >= 100 }
        #expect(!sampled.isEmpty)
        #expect(sampled.allSatisfy { $0.value < 5000 && (Int($0.value) - 100) / 50 % 3 != 0 }, "\(sampled)")
    }

    /// Pulled ids cost their sender nothing, so they reach the samplers only while the node is joining
    /// (it has nothing else); with Brahms' rule (`sampleEveryID`) every id heard does.
    @Test func pulledIdsReachTheSamplesOnlyWhileJoining() {
        var r = SimRandom(seed: 21)
        let below: (UInt32) -> UInt32 = { r.below($0) }
        var p = BrahmsParameters(viewSize: 10, sampleSize: 200)
        var joining = BrahmsView(me: SimID(0), parameters: p, bootstrap: [SimID(1)], key: { r.next() })
        #expect(joining.endRound(pushed: [], pulled: (1000..<1005).map { SimID(UInt32($0)) }, random: below) == .joining)
        #expect(joining.sample.values.contains { $0.value >= 1000 })
        var full = BrahmsView(me: SimID(0), parameters: p, bootstrap: (1..<11).map { SimID(UInt32($0)) }, key: { r.next() })
        for round in 0..<20 {
            #expect(full.endRound(pushed: [SimID(UInt32(100 + round))], pulled: (0..<10).map { SimID(UInt32(1000 + round * 10 + $0)) },
                                  random: below) == .renewed)
        }
        #expect(full.sample.values.allSatisfy { $0.value < 1000 } && full.sample.values.contains { $0.value >= 100 })
        p.sampleEveryID = true
        var brahms = BrahmsView(me: SimID(0), parameters: p, bootstrap: (1..<11).map { SimID(UInt32($0)) }, key: { r.next() })
        brahms.endRound(pushed: [SimID(100)], pulled: (1000..<1100).map { SimID(UInt32($0)) }, random: below)
        #expect(brahms.sample.values.contains { $0.value >= 1000 })
    }

    /// A push is a draw of its round (one per sender, receiver and round is all the protocol allows): an
    /// id that pushed in each of 100 rounds holds about half the samplers against 100 ids that pushed
    /// once each. Shown as the same event every time (Brahms' distinct ids), it would hold 1 in 101.
    @Test func eachRoundsPushIsANewDraw() {
        var r = SimRandom(seed: 31)
        let below: (UInt32) -> UInt32 = { r.below($0) }
        for everyID in [false, true] {
            var p = BrahmsParameters(viewSize: 10, sampleSize: 4000)
            p.sampleEveryID = everyID
            var v = BrahmsView(me: SimID(0), parameters: p, bootstrap: [], key: { r.next() })
            // Start from an empty sample (the bootstrap's ids would otherwise hold a few samplers).
            v.sample = NodeSample(count: p.sampleSize, key: { r.next() })
            for round in 0..<100 {
                v.endRound(pushed: [SimID(1), SimID(UInt32(1000 + round))], pulled: [SimID(2)], random: below)
            }
            let share = Double(v.sample.values.filter { $0 == SimID(1) }.count) / Double(p.sampleSize)
            if everyID {
                #expect(share < 0.03, "\(share)")          // 1/101; sd ≈ 0.0016
            } else {
                #expect(share > 0.44 && share < 0.56, "\(share)")   // 1/2; sd ≈ 0.008
            }
        }
    }

    /// The sample covers the current and the previous epoch: what arrived two windows ago is forgotten
    /// unless it came again; the dead leave both windows at once.
    @Test func theSampleForgetsWhatCameTwoEpochsAgo() {
        var r = SimRandom(seed: 41)
        var sample = NodeSample<SimID>(count: 100, key: { r.next() })
        sample.next((0..<50).map { SimID(UInt32($0)) }, event: 1)
        #expect(sample.values.count == 100)
        sample.endWindow()
        #expect(sample.values.count == 100 && sample.values.allSatisfy { $0.value < 50 })
        sample.next((50..<100).map { SimID(UInt32($0)) }, event: 2)
        let mixed = sample.values
        #expect(mixed.contains { $0.value < 50 } && mixed.contains { $0.value >= 50 })
        // The dead go from both windows.
        var dying = sample
        dying.invalidate(where: { $0.value % 2 == 0 }, key: { r.next() })
        #expect(dying.values.allSatisfy { $0.value % 2 == 1 })
        sample.endWindow()
        #expect(sample.values.count == 100 && sample.values.allSatisfy { $0.value >= 50 })
        sample.endWindow()
        #expect(sample.values.isEmpty)
    }

    /// A pull is answered with half the view and half the sample: distinct ids, never the node's own,
    /// at most a view's worth, every one from the view or the sample.
    @Test func aPullAnswerIsHalfViewHalfSample() {
        var r = SimRandom(seed: 12)
        let p = BrahmsParameters(viewSize: 20, sampleSize: 20)
        let me = SimID(0)
        var v = BrahmsView(me: me, parameters: p, bootstrap: (1..<21).map { SimID(UInt32($0)) }, key: { r.next() })
        let below: (UInt32) -> UInt32 = { r.below($0) }
        for round in 0..<10 {
            v.endRound(pushed: (0..<p.pushes).map { SimID(UInt32(100 + round * 40 + $0)) },
                       pulled: (0..<30).map { SimID(UInt32(1000 + round * 40 + $0)) } + [me], random: below)
            let answer = v.pullAnswer()
            #expect(answer.count <= p.viewSize && Set(answer).count == answer.count && !answer.contains(me))
            #expect(answer.allSatisfy { v.view.contains($0) || v.sample.values.contains($0) })
            #expect(Set(answer).isSuperset(of: v.view.prefix(10)))
            // The sample's half: ids the view does not hold show up (the sample remembers older rounds).
            #expect(answer.contains { !v.view.contains($0) } || Set(v.sample.values).isSubset(of: Set(v.view)))
        }
    }

    /// A joining node knows only its bootstrap peer and nobody pushes to it yet: it fills its view from
    /// what it pulls instead of staying cut off until someone happens to push to it.
    @Test func aJoiningNodeFillsItsViewFromPulls() {
        var r = SimRandom(seed: 9)
        let p = BrahmsParameters(viewSize: 20, sampleSize: 10)
        var v = BrahmsView(me: SimID(0), parameters: p, bootstrap: [SimID(1)], key: { r.next() })
        let below: (UInt32) -> UInt32 = { r.below($0) }
        #expect(v.endRound(pushed: [], pulled: (2..<12).map { SimID(UInt32($0)) }, random: below) == .joining)
        #expect(v.view.count == 11 && v.view.contains(SimID(1)))
        #expect(v.endRound(pushed: [], pulled: (12..<60).map { SimID(UInt32($0)) }, random: below) == .joining)
        #expect(v.view.count == 20)
        // Full: a round without pushes is cut off again, the view kept.
        let full = v.view
        #expect(v.endRound(pushed: [], pulled: (60..<70).map { SimID(UInt32($0)) }, random: below) == .cutOff && v.view == full)
    }

    /// A node whose view is empty (it knew nobody, like the first node of a network) takes up to ℓ₁ of
    /// the nodes it holds descriptors of, distinct and never itself, and shows them to its samplers; a
    /// view with members is left alone. (Without it the first node, pushed to by everyone and so always
    /// flooded, never got a view, and the others' views stayed on it alone: PartialViewTests.)
    @Test func anEmptyViewIsSeededFromTheNodesItKnows() {
        var r = SimRandom(seed: 4)
        let p = BrahmsParameters(viewSize: 5, sampleSize: 3)
        let below: (UInt32) -> UInt32 = { r.below($0) }
        var v = BrahmsView(me: SimID(0), parameters: p, bootstrap: [], key: { r.next() })
        v.seed([SimID(0), SimID(1), SimID(1), SimID(2)], random: below)
        #expect(Set(v.view) == [SimID(1), SimID(2)] && v.view.count == 2)
        #expect(v.sample.values.allSatisfy { [SimID(1), SimID(2)].contains($0) } && !v.sample.values.isEmpty)
        v.seed((3..<9).map { SimID(UInt32($0)) }, random: below)
        #expect(Set(v.view) == [SimID(1), SimID(2)])   // not empty: kept
        var w = BrahmsView(me: SimID(0), parameters: p, bootstrap: [], key: { r.next() })
        w.seed((1..<30).map { SimID(UInt32($0)) }, random: below)
        #expect(w.view.count == 5 && Set(w.view).count == 5 && !w.view.contains(SimID(0)))
    }

    /// A small network with a 10% pushing coalition and a churn wave: samples stay near 10% malicious
    /// (views are far more), the dead leave the samples at the epoch boundary, joiners are heard, and a
    /// seed gives the same run twice.
    @Test func aSmallSimulatedNetworkResistsPushingAndHeals() {
        var c = GossipSimulation.Config()
        c.nodes = 200
        c.joiners = 4
        c.epochs = 4
        c.roundsPerEpoch = 8
        c.parameters = BrahmsParameters(viewSize: 16, sampleSize: 16)
        var first: [GossipSimulation.EpochReport] = [], second: [GossipSimulation.EpochReport] = []
        var a = GossipSimulation(c), b = GossipSimulation(c)
        a.run { first.append($0) }
        b.run { second.append($0) }
        #expect(first.count == 4)
        #expect(first.map { $0.maliciousInSamples } == second.map { $0.maliciousInSamples })
        for e in first {
            #expect(e.maliciousInSamples < 0.15, "epoch \(e.epoch): \(e.maliciousInSamples)")
            #expect(e.deadInSamplesAfterRefresh == 0)
        }
        #expect(first[2].deadInSamplesBeforeRefresh > 0)
        #expect(first[0].maliciousInViews > first[0].maliciousInSamples)
        // Joiners reach more samplers epoch by epoch, and two epochs after joining they hold sample slots
        // about as often as any node (samples cover the last two epochs' pushes).
        #expect(first[3].joinersReached > first[1].joinersReached, "\(first.map { $0.joinersReached })")
        #expect(first[3].joinersInSamples > 0.6 && first[3].joinersInSamples < 1.6, "\(first.map { $0.joinersInSamples })")
    }

    /// A node the coalition singles out, pushed up to just below its flood limit every round: with
    /// Brahms' limit (twice the pushes a node gets on average) its sample ends up mostly the coalition's
    /// while everyone else's stays near 10%; with Postern's (a quarter more than the average) the
    /// coalition can add few pushes, and the victims' samples stay far less biased
    /// (docs/PROTOCOL.md §5.9).
    @Test func aSingledOutVictimGetsLittleBelowTheFloodLimit() {
        let c = Self.fiveVictims()
        #expect(c.parameters.pushes == 18 && c.parameters.acceptedPushes == 22)
        func last(floodLimit: Int) -> GossipSimulation.EpochReport {
            var c = c
            c.parameters.acceptedPushes = floodLimit
            return Self.reports(c)[2]
        }
        let brahms = last(floodLimit: 2 * c.parameters.pushes), postern = last(floodLimit: c.parameters.acceptedPushes)
        #expect(brahms.maliciousInSamples < 0.2 && brahms.maliciousInVictimSamples > 0.4, "\(brahms)")
        #expect(postern.maliciousInSamples < 0.2 && postern.maliciousInVictimSamples < 0.35, "\(postern)")
    }

    /// The limit of that defence (docs/PROTOCOL.md §5.9): a coalition that knows how many honest pushes
    /// a victim gets each round fills exactly the rest up to the flood limit, so it blocks none of the
    /// victim's rounds itself (honest pushes alone exceed the limit rarely), and its share of the
    /// victim's sample climbs above the static attack's.
    @Test func aCoalitionThatWatchesItsVictimsFillsTheirPushesToTheLimit() {
        func run(adaptive: Bool) -> [GossipSimulation.EpochReport] {
            var c = Self.fiveVictims()
            c.adaptiveVictims = adaptive
            return Self.reports(c)
        }
        let fixed = run(adaptive: false), watching = run(adaptive: true)
        #expect(watching.reduce(0) { $0 + $1.victimFloodedRounds } <= 2, "\(watching.map(\.victimFloodedRounds))")
        #expect(fixed.reduce(0) { $0 + $1.victimFloodedRounds } > watching.reduce(0) { $0 + $1.victimFloodedRounds })
        #expect(watching[2].maliciousInVictimSamples > fixed[2].maliciousInVictimSamples + 0.1,
                "\(watching[2].maliciousInVictimSamples) vs \(fixed[2].maliciousInVictimSamples)")
        #expect(watching[2].maliciousInSamples < 0.2)
    }

    /// 400 nodes, 3 epochs of 8 rounds, 5 singled-out victims: the victim tests' network.
    static func fiveVictims() -> GossipSimulation.Config {
        var c = GossipSimulation.Config()
        c.nodes = 400
        c.joiners = 4
        c.epochs = 3
        c.roundsPerEpoch = 8
        c.victims = 5
        return c
    }

    /// Every epoch's report of one run.
    static func reports(_ c: GossipSimulation.Config) -> [GossipSimulation.EpochReport] {
        var reports: [GossipSimulation.EpochReport] = []
        var sim = GossipSimulation(c)
        sim.run { reports.append($0) }
        return reports
    }
}
