/// Sizes of a node's partial view and sample (docs/PROTOCOL.md §5.9): `viewSize` ids in the view (ℓ₁),
/// `sampleSize` min-wise samplers (ℓ₂); each round a node pushes its own descriptor to `pushes` view
/// members, pulls the views of `pulls` others, and rebuilds its view from `pushes` received pushes,
/// `pulledIntoView` pulled ids and `fromSample` sample values (α = 0.45, β = 0.25, γ = 0.3; Brahms has
/// β = 0.45, γ = 0.1: pull answers are where a coalition gets into views, the sample is the least
/// biased source, docs/BENCH.md).
public struct BrahmsParameters: Equatable {
    public var viewSize: Int
    public var sampleSize: Int
    /// Brahms' own sampler rule: every id heard (pushed or pulled, blocked round or not) goes to the
    /// samplers. Off by default: Postern's samplers take only pushes from rounds that were not flooded
    /// (and pulls while joining), see `BrahmsView.sampled`. For comparison in the simulator.
    public var sampleEveryID = false

    /// More distinct pushes than this in one round is a flood: the round is blocked. The pushes a node
    /// receives on average (`pushes`) and a quarter more (at least 3): 1.5–3.4% of honest rounds are
    /// blocked by chance, and a coalition that singles out a node can add only a quarter of its pushes
    /// without blocking it. Brahms' 2 × `pushes` let such a coalition hold 89–91% of a victim's sample
    /// after three epochs (23–25% now; docs/BENCH.md, "Gossip at scale").
    public var acceptedPushes: Int

    public init(viewSize: Int, sampleSize: Int) {
        self.viewSize = max(viewSize, 3)
        self.sampleSize = max(sampleSize, 1)
        let pushes = max(1, self.viewSize * 45 / 100)
        acceptedPushes = pushes + max(3, pushes / 4)
    }

    public var pushes: Int { max(1, viewSize * 45 / 100) }
    public var pulls: Int { max(1, viewSize * 45 / 100) }
    public var pulledIntoView: Int { max(1, viewSize * 25 / 100) }
    public var fromSample: Int { max(1, viewSize - pushes - pulledIntoView) }
}

/// One node's Brahms state (Bortnikov et al., "Brahms: Byzantine resilient random membership sampling",
/// 2009): a bounded view that gossip renews every round, and a sample that pushing cannot bias.
///
/// A round: push this node's id to `pushTargets`, pull the views of `pullTargets`, then `endRound` with
/// what arrived. The view is rebuilt only when the round looks healthy: at most `acceptedPushes` distinct pushes
/// (more means someone floods: the round is blocked, the view kept) and at least one push and one pull
/// answer (none means this node is cut off: kept too) — except that a node whose view is not yet full
/// and got no push (it is joining: nobody knows it yet) adds pulled ids to it. The samplers take the
/// round's pushes unless it was flooded, and pulled ids only while joining (`sampled`): their values
/// stay uniform over the distinct pushers heard however often an attacker repeats his own, and pushes,
/// unlike pull answers, are limited per identity.
///
/// Invariants (tested): the view holds at most `viewSize` distinct ids, never this node's; every view id
/// was pushed, pulled or sampled.
public struct BrahmsView<ID: SampleID> {
    public let me: ID
    public let parameters: BrahmsParameters
    public private(set) var view: [ID]
    public var sample: NodeSample<ID>
    /// Rounds ended so far: each round's pushes are new draws for the samplers (`sampled`).
    public private(set) var rounds: UInt64 = 0

    public enum Outcome: Equatable { case renewed, flooded, cutOff, joining }

    /// `bootstrap`: the first view (a bootstrap peer's id; ids learnt from it). `key`: sampler keys.
    public init(me: ID, parameters: BrahmsParameters, bootstrap: [ID], key: () -> UInt64) {
        self.me = me
        self.parameters = parameters
        var seen = Set<ID>()
        view = []
        for id in bootstrap where id != me && seen.insert(id).inserted && view.count < parameters.viewSize { view.append(id) }
        sample = NodeSample(count: parameters.sampleSize, key: key)
        sample.next(view)
    }

    /// A node whose view is empty (it knew nobody at start, or all its members left) takes up to
    /// `viewSize` of `ids` (the nodes it holds descriptors of: stored, introduced, a bootstrap peer's
    /// answer), chosen at random, as its view, and shows them to its samplers as its first view is.
    public mutating func seed(_ ids: [ID], random: (UInt32) -> UInt32) {
        guard view.isEmpty else { return }
        var seen = Set<ID>(), candidates: [ID] = []
        for id in ids where id != me && seen.insert(id).inserted { candidates.append(id) }
        view = Self.pick(candidates, parameters.viewSize, random: random)
        sample.next(view)
    }

    /// `count` distinct view members chosen at random (all of them if the view is smaller).
    /// `random(n)`: uniform in 0..<n.
    public func targets(_ count: Int, random: (UInt32) -> UInt32) -> [ID] {
        Self.pick(view, count, random: random)
    }

    public func pushTargets(random: (UInt32) -> UInt32) -> [ID] { targets(parameters.pushes, random: random) }
    public func pullTargets(random: (UInt32) -> UInt32) -> [ID] { targets(parameters.pulls, random: random) }

    /// What this node answers a pull with: the first half of its view and the first half of its sample
    /// (distinct; at most `viewSize` ids). Brahms answers with the view alone; the view is what a
    /// pushing coalition gets into, while the sample stays near-uniform over the ids heard, so half from
    /// each spreads honest ids faster than the coalition's (docs/PROTOCOL.md §5.9: at 10 000 nodes the
    /// coalition's share of views fell from 41% to 23% and of samples from 17% to 13%, and joiners
    /// reached 56% of nodes instead of 41%, in four epochs). The view half is still random: the view is
    /// rebuilt in random order every round.
    public func pullAnswer() -> [ID] {
        var out: [ID] = [], taken = Set<ID>()
        for id in view.prefix(view.count - view.count / 2) where taken.insert(id).inserted { out.append(id) }
        for id in sample.values.filter({ $0 != me }).prefix(view.count / 2 + 1) where out.count < parameters.viewSize && taken.insert(id).inserted {
            out.append(id)
        }
        return out
    }

    /// Ends a round with the ids that pushed to this node and the ids in the views it pulled.
    @discardableResult
    public mutating func endRound(pushed: [ID], pulled: [ID], random: (UInt32) -> UInt32) -> Outcome {
        var pushSet = Set<ID>(), pushes: [ID] = []
        for id in pushed where id != me && pushSet.insert(id).inserted { pushes.append(id) }
        var pullSet = Set<ID>(), pulls: [ID] = []
        for id in pulled where id != me && pullSet.insert(id).inserted { pulls.append(id) }
        let outcome: Outcome
        if pushes.count > parameters.acceptedPushes {
            outcome = .flooded
        } else if pulls.isEmpty || (pushes.isEmpty && view.count >= parameters.viewSize) {
            outcome = .cutOff
        } else if pushes.isEmpty {
            // Joining: nobody knows this node yet, so nobody pushes to it. It fills its view from the
            // views it pulled (nodes it chose), keeping what it has, until the view is full.
            var taken = Set(view)
            for id in Self.pick(pulls, parameters.viewSize, random: random) where view.count < parameters.viewSize && taken.insert(id).inserted {
                view.append(id)
            }
            outcome = .joining
        } else {
            let sampled = sample.values.filter { $0 != me }
            var next: [ID] = [], taken = Set<ID>()
            for id in Self.pick(pushes, parameters.pushes, random: random) + Self.pick(pulls, parameters.pulledIntoView, random: random)
                + Self.pick(sampled, parameters.fromSample, random: random) where taken.insert(id).inserted && next.count < parameters.viewSize {
                next.append(id)
            }
            view = next
            outcome = .renewed
        }
        rounds += 1
        let (takePushes, takePulls) = sampled(outcome)
        let event = parameters.sampleEveryID ? 0 : rounds
        if takePushes { sample.next(pushes, event: event) }
        if takePulls { sample.next(pulls, event: event) }
        return outcome
    }

    /// The epoch boundary: the samplers start a new window (`NodeSample.endWindow`; not with Brahms' rule,
    /// whose samplers keep everything heard), and the dead leave view and samplers (their descriptors
    /// aged out: `isGone`); `key` gives fresh sampler keys.
    public mutating func endEpoch(isGone: (ID) -> Bool, key: () -> UInt64) {
        if !parameters.sampleEveryID { sample.endWindow() }
        view.removeAll(where: isGone)
        sample.invalidate(where: isGone, key: key)
    }

    /// Which of a round's ids go to the samplers (docs/PROTOCOL.md §5.9). Pushes, unless the round was
    /// flooded: a push is authenticated as its sender and limited to one per sender, receiver and round,
    /// so each is shown as a new draw (the round number is the event) and a coalition's share of a
    /// node's sample is its share of the pushes the node received in the last one or two epochs,
    /// whatever the network's size. Pulled ids only while joining (the node has nothing else yet): a pull answer
    /// costs nothing, and a coalition answering every pull with its own ids makes honest nodes hear all
    /// of them long before they hear most honest ids (Brahms' rule, `sampleEveryID`, measured 68% coalition
    /// samples at 100 000 nodes with 40-id views; docs/BENCH.md). A flooded round's pushes are dropped:
    /// otherwise one flood would put thousands of a coalition's ids into a victim's samplers at once.
    public func sampled(_ outcome: Outcome) -> (pushes: Bool, pulls: Bool) {
        if parameters.sampleEveryID { return (true, true) }
        return (outcome != .flooded, outcome == .joining)
    }

    /// Up to `count` distinct elements of `from` (which holds distinct ids) in random order: a partial
    /// Fisher–Yates shuffle.
    static func pick(_ from: [ID], _ count: Int, random: (UInt32) -> UInt32) -> [ID] {
        if from.count <= count { return from }
        var a = from
        for i in 0..<count {
            let j = i + Int(random(UInt32(a.count - i)))
            a.swapAt(i, j)
        }
        return Array(a[0..<count])
    }
}
