import PosternCrypto
import PosternLink
import PosternNetwork
import PosternSystem

/// Partial views (docs/PROTOCOL.md §5.9), when `NodeOptions.viewSize` > 0: instead of §5.6's full-view
/// gossip, a Brahms view of `viewSize` ids and a sample of `sampleSize` min-wise samplers
/// (`BrahmsView`, the code `postern simulate gossip` runs). Each round (every E/12) ends the previous
/// one (`BrahmsView.endRound` with the pushes and pull answers it brought), lets go of every descriptor
/// outside view and sample, then pushes this node's descriptor to `pushes` view members (PUSH) and asks
/// `pulls` others for their pull answer (PULL → PULLED). The map, and so relay loops' routes, come from
/// the descriptors held: view and sample. Packets reach next hops outside them by address (format 3).
///
/// Leavers: halfway through each epoch a node asks every member of its view and sample for its current
/// descriptor (DESCRIBE → DESCRIPTORS), and each node that enters the sample later in the epoch when it
/// enters; at the boundary, those that did not answer leave view and samplers, as do members whose
/// descriptor has no packet key for the new epoch. A node that stops is out of the samples that held it
/// one or two epochs later (packet keys alone, published two epochs ahead, would take up to three).
///
/// A push counts only over a link authenticated with the pushed descriptor's link key (a node can push
/// only itself), once per sender and round; a pull answer only from a node this node asked this round.
/// What a round keeps is bounded: `acceptedPushes` + 1 pushes (one more is a flood either way), and
/// `viewSize` + 1 descriptors per pull answer.
struct SamplingState {
    var brahms: BrahmsView<Bytes32>
    var pushers: Set<Bytes32> = []
    var pushes: [Bytes32] = []
    var pulled: [Bytes32] = []
    /// Link keys of the nodes asked for a pull answer this round (answers from others are refused).
    var asked: Set<Bytes32> = []
    /// The view and sample members asked for their own descriptor (DESCRIBE) this epoch that have not
    /// answered yet (link key → node id), every id asked this epoch, and the epoch of the last asking.
    var describing: [Bytes32: Bytes32] = [:]
    var described: Set<Bytes32> = []
    var describedEpoch: UInt32 = 0
    /// The ids found silent at this epoch's start: pull answers of nodes that have not noticed yet do not
    /// bring them back this epoch (a push from one of them, over a link it authenticated, still counts).
    var silent: Set<Bytes32> = []
    /// Ids this gateway's clients need (their contacts' gateways, VIEW §4.3) → the epoch they were last
    /// asked for: kept with view and sample, looked for in pulls while not held (`maxPinned` at most).
    var pinned: [Bytes32: UInt32] = [:]
    var roundOpen = false
    var epoch: UInt32 = 0
    /// Push work (`NetworkParameters.pushWorkBits` > 0): this round's pushes still being solved, the slot
    /// of the last round's pushes, and per sender the last slot a push was taken with (a proof buys one
    /// push; entries older than three slots are let go).
    var solving: [PendingPush] = []
    var lastPushSlot: UInt64 = 0
    var pushSlots: [Bytes32: UInt64] = [:]

    static let maxPinned = 256
    /// Pinned ids not held that one PULL names.
    static let wantedPerPull = 8
}

/// A push waiting for its proof of work: the receiver, how to reach it, and the search so far.
struct PendingPush {
    let linkKey: Bytes32
    let address: String
    var input: PushWork.Input
    let slot: UInt64
    var nonce: UInt64 = 0
}

/// Why a PUSH was refused on a network with push work (`NodeStats.pushesRefused`).
enum PushRefusal: Int, CaseIterable {
    /// No proof, or one that does not meet the network's bits for this sender and receiver.
    case work
    /// Its slot is more than two rounds before or one after the receiver's.
    case slot
    /// Its slot is not later than the last one taken from that sender (a proof buys one push).
    case reused

    var label: String {
        switch self {
        case .work: "work"
        case .slot: "slot"
        case .reused: "reused"
        }
    }
}

extension Directory {
    var isPartial: Bool { sampling != nil }

    /// Nonces tried per event-loop turn while pushes wait for their proof of work (about 1–3 ms on a
    /// Raspberry Pi 4): packets keep flowing between the tries.
    static let pushTriesPerTurn = 2048

    /// The partial view's first state: sampler keys from the kernel, the first view from the stored
    /// descriptors (a restart needs no bootstrap).
    static func sampling(me: Bytes32, options: NodeOptions, known: [Bytes32]) -> SamplingState? {
        guard options.viewSize > 0 else { return nil }
        let parameters = BrahmsParameters(viewSize: options.viewSize, sampleSize: options.sampleSize ?? options.viewSize)
        return SamplingState(brahms: BrahmsView(me: me, parameters: parameters, bootstrap: known.filter { $0 != me },
                                                key: { Random.uint64() }))
    }

    /// The round interval of partial views: E/12, at least 0.5 s (`NetworkParameters.roundMillis`).
    var samplingInterval: UInt64 { parameters.roundMillis * 1_000_000 }

    /// Ends the open round and starts the next.
    func samplingRound(now: Int64) {
        guard var s = sampling, let own else { return }
        let random: (UInt32) -> UInt32 = { Random.uniform($0) }
        if s.roundOpen {
            switch s.brahms.endRound(pushed: s.pushes, pulled: s.pulled, random: random) {
            case .renewed: counters.stats.samplingRounds[0] += 1
            case .flooded: counters.stats.samplingRounds[1] += 1
            case .cutOff: counters.stats.samplingRounds[2] += 1
            case .joining: counters.stats.samplingRounds[3] += 1
            }
        }
        let epoch = parameters.epoch(at: now)
        if epoch != s.epoch {
            // The members that left or crashed leave view and samplers: those asked for their descriptor in
            // the middle of the last epoch that did not answer it, and those whose descriptor has no
            // packet key for this epoch.
            let silent = s.describedEpoch == epoch &- 1 ? Set(s.describing.values) : []
            counters.stats.describeSilent += silent.count
            func isGone(_ id: Bytes32) -> Bool {
                if silent.contains(id) { return true }
                guard let d = view.descriptors[id] else { return false }   // not held: nothing known either way
                return d.packetKey(for: epoch) == nil
            }
            if s.epoch != 0 { s.brahms.endEpoch(isGone: isGone, key: { Random.uint64() }) }
            s.epoch = epoch
            s.silent = silent
            s.describing.removeAll(keepingCapacity: true)
            s.described.removeAll(keepingCapacity: true)
        }
        if s.brahms.view.isEmpty { s.brahms.seed(Array(view.descriptors.keys), random: random) }
        // Keep the descriptors of view, sample and pins (and our own); let go of the rest. A pin not
        // asked for in two epochs is let go.
        for (id, asked) in s.pinned where asked &+ 2 < epoch { s.pinned[id] = nil }
        var keep = Set(s.brahms.view)
        for id in s.brahms.sample.values { keep.insert(id) }
        for id in s.pinned.keys { keep.insert(id) }
        keep.insert(secrets.id)
        for id in Array(view.descriptors.keys) where !keep.contains(id) {
            view.remove(id)
            viewDirty = true
        }
        counters.stats.descriptorsAfterRound = view.count
        s.pushers.removeAll(keepingCapacity: true)
        s.pushes.removeAll(keepingCapacity: true)
        s.pulled.removeAll(keepingCapacity: true)
        s.asked.removeAll(keepingCapacity: true)
        s.roundOpen = true
        // Push ourselves to view members (with push work, once each proof is found: `solvePushes`); pull
        // from others (from the bootstrap peers, or any node whose descriptor we hold, while the view is
        // empty).
        let bits = parameters.pushWorkBits
        let slot = max(parameters.pushSlot(atMillis: Clock.wallMillis()), s.lastPushSlot &+ 1)
        counters.stats.pushesUnsolved += s.solving.count
        s.solving.removeAll(keepingCapacity: true)
        if bits > 0 { s.lastPushSlot = slot }
        for (id, taken) in s.pushSlots where taken &+ 3 < slot { s.pushSlots[id] = nil }
        let network = bits > 0 ? parameters.id : Bytes32.zero, me = secrets.id
        for id in s.brahms.pushTargets(random: random) {
            guard let d = view.descriptors[id] else { continue }
            if bits == 0 {
                sendControl([GossipFrame.push(own.bytes, work: nil).encoded], d.linkKey, d.address)
            } else {
                s.solving.append(PendingPush(linkKey: d.linkKey, address: d.address,
                                             input: PushWork.Input(network: network, sender: me, receiver: id, slot: slot),
                                             slot: slot))
            }
        }
        var pullFrom: [(linkKey: Bytes32, address: String)] = s.brahms.pullTargets(random: random).compactMap { id in
            view.descriptors[id].map { ($0.linkKey, $0.address) }
        }
        if pullFrom.isEmpty {
            let held = view.descriptors.values.filter { $0.id != secrets.id }
            if !held.isEmpty {
                let d = held[Int(Random.uniform(UInt32(held.count)))]
                pullFrom = [(d.linkKey, d.address)]
            } else if !options.bootstrap.isEmpty {
                let peer = options.bootstrap[Int(Random.uniform(UInt32(options.bootstrap.count)))]
                pullFrom = [(peer.linkKey, peer.address)]
            }
        }
        let lacking = Array(s.pinned.keys.filter { view.descriptors[$0] == nil }.prefix(SamplingState.wantedPerPull))
        for target in pullFrom {
            s.asked.insert(target.linkKey)
            sendControl([GossipFrame.pull(wanted: lacking).encoded], target.linkKey, target.address)
        }
        // Halfway through each epoch, ask every member of view and sample for its current descriptor; after
        // that, each node that enters the sample (routes come from it) when it enters.
        var ask: [Bytes32] = []
        if s.describedEpoch != epoch && now >= parameters.start(of: epoch) + Int64(parameters.epochSeconds / 2) {
            s.describedEpoch = epoch
            ask = Array(keep)
        } else if s.describedEpoch == epoch {
            ask = s.brahms.sample.values.filter { !s.described.contains($0) }
        }
        for id in ask where id != secrets.id && !s.described.contains(id) {
            guard let d = view.descriptors[id] else { continue }   // asked once its descriptor is here
            s.described.insert(id)
            s.describing[d.linkKey] = id
            sendControl([GossipFrame.describe.encoded], d.linkKey, d.address)
        }
        counters.stats.gossipRounds += 1
        sampling = s
    }

    /// A partial view's control frame (PUSH, PULL, PULLED) from connection `c`.
    func samplingControl(_ g: GossipFrame, on c: Connection, now: Int64) {
        guard var s = sampling, let rs = c.remoteStatic, let peerKey = Bytes32(rs) else { return }
        defer { sampling = s }
        switch g {
        case .push(let bytes, let work):
            guard let d = verified(bytes, now: now), d.linkKey == peerKey else {
                counters.stats.gossipRefused += 1
                return
            }
            if let why = pushRefusal(work, from: d.id, &s) {
                counters.stats.pushesRefused[why.rawValue] += 1
                return
            }
            if c.tag == LinkListener.unchecked { c.tag = LinkListener.admitted }
            guard d.id != secrets.id, s.pushers.insert(d.id).inserted else { return }
            s.silent.remove(d.id)   // it pushed itself: alive after all
            // One more than the flood limit already blocks the round: nothing beyond it is kept.
            guard s.pushes.count <= s.brahms.parameters.acceptedPushes else { return }
            s.pushes.append(d.id)
            offer(bytes, now: now)
        case .pull(let wanted):
            var answer: [[UInt8]] = own.map { [$0.bytes] } ?? []
            var listed = Set<Bytes32>()
            for id in s.brahms.pullAnswer() { if let d = view.descriptors[id] { answer.append(d.bytes); listed.insert(id) } }
            // Then the wanted ids this node holds (their descriptors are signed: nothing to trust here).
            for id in wanted where !listed.contains(id) { if let d = view.descriptors[id] { answer.append(d.bytes); listed.insert(id) } }
            for f in GossipFrame.pulledFrames(answer, limit: controlLimit) { c.send(f) }
        case .pulled(let last, let list):
            guard s.asked.contains(peerKey) else {
                counters.stats.gossipRefused += 1
                return
            }
            if last { s.asked.remove(peerKey) }
            for bytes in list.prefix(s.brahms.parameters.viewSize + 1 + SamplingState.wantedPerPull) {
                guard let d = verified(bytes, now: now), d.id != secrets.id, !s.silent.contains(d.id) else { continue }
                // A pinned id is only kept (a pull answer names it because this node asked for it).
                if s.pinned[d.id] == nil { s.pulled.append(d.id) }
                offer(bytes, now: now)
            }
        case .describe:
            if let own { c.send(GossipFrame.descriptors([own.bytes]).encoded) }
        case .digest, .descriptors:
            break
        }
    }

    /// Why a push from `sender` with `work` is refused on this network, if it is (nil: taken; its slot is
    /// then the last taken from `sender`). Without push work every push passes.
    func pushRefusal(_ work: PushWork?, from sender: Bytes32, _ s: inout SamplingState) -> PushRefusal? {
        let bits = parameters.pushWorkBits
        guard bits > 0 else { return nil }
        guard let work, work.isValid(network: parameters.id, sender: sender, receiver: secrets.id, bits: bits) else { return .work }
        let current = parameters.pushSlot(atMillis: Clock.wallMillis())
        // Up to two rounds late (a loaded sender, a slow link), one early (clocks a little apart).
        guard work.slot &+ 2 >= current, work.slot <= current &+ 1 else { return .slot }
        if let last = s.pushSlots[sender], work.slot <= last { return .reused }
        s.pushSlots[sender] = work.slot
        return nil
    }

    /// Times 4 096 tries here and says what the network's push work costs this machine a round; a warning
    /// when it takes more than half the round (pushes would go unsolved, `pushes_sent_total{outcome}`).
    func checkPushWorkCost(pushes: Int) {
        var input = PushWork.Input(network: parameters.id, sender: secrets.id, receiver: secrets.id, slot: 0)
        let start = EventLoop.now()
        _ = PushWork.search(&input, bits: 64, from: 0, tries: 4096)   // 64 bits: no nonce meets it, all 4 096 run
        let perTry = Double(EventLoop.now() &- start) / 1e9 / 4096
        let perRound = perTry * Double(UInt64(1) << UInt64(parameters.pushWorkBits)) * Double(pushes)
        let round = Double(parameters.roundMillis) / 1000
        let text = "push work of \(parameters.pushWorkBits) bits: about \(Format.fixed(perRound, 2)) s of CPU for this node's \(pushes) pushes a round here (rounds of \(Format.fixed(round, 1)) s)"
        log(perRound > round / 2 ? "warning: " + text + ": pushes will go unsolved; the network's 'push_work' is too high for this machine" : text)
    }

    /// Tries up to `pushTriesPerTurn` nonces for the last waiting push, sending it once its proof is found.
    func solvePushes() {
        guard var s = sampling, var job = s.solving.last, let own else { return }
        if let nonce = PushWork.search(&job.input, bits: parameters.pushWorkBits, from: job.nonce, tries: Self.pushTriesPerTurn) {
            s.solving.removeLast()
            counters.stats.pushesSolved += 1
            sendControl([GossipFrame.push(own.bytes, work: PushWork(slot: job.slot, nonce: nonce)).encoded], job.linkKey, job.address)
        } else {
            job.nonce &+= UInt64(Self.pushTriesPerTurn)
            s.solving[s.solving.count - 1] = job
        }
        sampling = s
    }

    /// What a gateway hands its clients (VIEW, docs/PROTOCOL.md §5.9), valid at `now`: with a full view every
    /// descriptor it holds; with a partial view its own, its sample's and its pins', never its view (which
    /// pushes fill), except that for a mix layer of this epoch of which the sample holds no mix, the view's
    /// members of that layer are added (a small network's sample can miss a layer; routes need each one).
    func clientShare(now: Int64) -> [NodeDescriptor] {
        func valid(_ d: NodeDescriptor) -> Bool { d.validUntil >= now }
        guard let s = sampling else { return view.descriptors.values.filter(valid) }
        var ids = Set(s.brahms.sample.values)
        for id in s.pinned.keys { ids.insert(id) }
        ids.insert(secrets.id)
        var share = ids.compactMap { view.descriptors[$0] }.filter(valid)
        let epoch = parameters.epoch(at: now), layers = parameters.layers
        func layer(_ d: NodeDescriptor) -> Int? {
            d.roles.isMix ? NetworkView.layer(of: d.identity, epoch: epoch, layers: layers) : nil
        }
        let covered = Set(share.compactMap(layer))
        for id in s.brahms.view where !ids.contains(id) {
            guard let d = view.descriptors[id], valid(d), let l = layer(d), !covered.contains(l) else { continue }
            share.append(d)
        }
        return share
    }

    /// A gateway's client needs these ids in its map (VIEW): pinned for two epochs (§5.8).
    func want(_ ids: [Bytes32], now: Int64) {
        guard var s = sampling else { return }
        let epoch = parameters.epoch(at: now)
        for id in ids where id != secrets.id && (s.pinned[id] != nil || s.pinned.count < SamplingState.maxPinned) { s.pinned[id] = epoch }
        sampling = s
    }

    /// A DESCRIPTORS frame on a partial view's link: kept only as the answer of a node asked to describe
    /// itself this epoch (its own descriptor, naming the link key it authenticated with); anything else
    /// is refused.
    func described(_ list: [[UInt8]], on c: Connection, now: Int64) {
        guard var s = sampling, let rs = c.remoteStatic, let peerKey = Bytes32(rs), s.describing[peerKey] != nil else { return }
        guard list.count == 1, let d = verified(list[0], now: now), d.linkKey == peerKey else {
            counters.stats.gossipRefused += 1
            return
        }
        s.describing[peerKey] = nil
        sampling = s
        offer(list[0], now: now)
    }

    /// The descriptor if it verifies for this network now (refusals counted by reason).
    func verified(_ bytes: [UInt8], now: Int64) -> NodeDescriptor? {
        do { return try NodeDescriptor.accept(bytes, network: parameters, now: now) } catch {
            counters.stats.refused(error)
            return nil
        }
    }
}
