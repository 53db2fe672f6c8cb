import PosternNetwork
import PosternSystem

/// `postern simulate gossip` (here) and `postern simulate anonymity` (SimulateAnonymity.swift).
///
/// `postern simulate gossip`: the partial-view gossip (Brahms views and min-wise samples, the code nodes
/// run) for thousands of simulated nodes in this process, with a pushing coalition and churn
/// (docs/PROTOCOL.md §5.9, docs/BENCH.md "Gossip at scale").
enum SimulateCommand {
    static let usage = """
    usage: postern simulate gossip [--nodes N] [--malicious F] [--churn F] [--view L1] [--sample L2]
                                   [--rounds-per-epoch R] [--epochs E] [--seed S] [--victims K [--adaptive]] [--flood-limit P]
                                   [--push-power K] [--unlimited-pushes] [--answer-with-view] [--sample-every-id] [--json]
    Simulates N nodes (default 1000; up to 200000) gossiping in rounds, R per epoch (12) for E epochs (4):
    a fraction F of them (0.1) one coalition pushing its own ids as hard as the protocol lets it; 16 nodes
    join in epoch 1; a fraction (0.1) of the honest nodes leaves in epoch 2 and as many join. Views hold L1
    ids (40), samples L2 samplers (40). One line per epoch (JSON lines with --json): bytes per node and per
    client, malicious share of honest samples and views, dead share of samples after the churn wave,
    the share of honest nodes whose samplers took a joiner (mean over joiners) and the rounds until it
    reached 99%, how often joiners hold sample slots against a node's fair share, memory per node.
    Deterministic for a seed (1).
    --push-power K: the coalition sends K times the pushes of as many honest nodes (default 1): K times their
    computing power for the proof of work each push carries (network.push_work).
    --unlimited-pushes: the coalition's pushes cost nothing (no push limit), the attack the limit stops.
    --answer-with-view: honest nodes answer pulls with their view alone (Brahms) instead of half view,
    half sample.
    --sample-every-id: samplers take every id heard, pushed or pulled, blocked round or not (Brahms'
    rule) instead of the pushes of unblocked rounds.
    --victims K: the coalition singles out K honest nodes, pushing each the flood limit less the honest
    pushes it gets on average, every round; the coalition's share of their samples is reported.
    --adaptive: with --victims, the coalition knows each round how many honest pushes a victim got and
    fills exactly the rest up to the flood limit (an upper bound for a coalition that watches).
    --flood-limit P: a round with more than P distinct pushes is blocked (default: the pushes a node
    gets on average and a quarter more, 22 with views of 40; Brahms: twice, 36).
    example: postern simulate gossip --nodes 10000 --json
    """

    static func run(_ args: [String]) -> Int32 {
        switch args.first {
        case "gossip": return gossip(args)
        case "anonymity": return anonymity(Array(args.dropFirst()))
        case "--help", "-h": Terminal.line(usage + "\n" + anonymityUsage); return 0
        default: return CLI.usageError("simulate what? (gossip, anonymity)\n" + usage + "\n" + anonymityUsage)
        }
    }

    /// A whole-number option: `fallback` when absent, nil when not a number in `range`. Through
    /// UInt64(String): Int(String) here crashed the aarch64 Embedded build on a value from the command
    /// line (under qemu, reproducibly; armv7, the host and UInt64 were fine).
    static func wholeOption(_ text: String?, _ fallback: Int, _ range: ClosedRange<Int>) -> Int? {
        guard let text else { return fallback }
        guard let u = UInt64(text), u <= UInt64(range.upperBound), range.contains(Int(u)) else { return nil }
        return Int(u)
    }

    static func gossip(_ args: [String]) -> Int32 {
        guard let o = CLI.options(Array(args.dropFirst()), ["--nodes", "--malicious", "--churn", "--view", "--sample", "--rounds-per-epoch",
                                                             "--epochs", "--seed", "--victims", "--flood-limit", "--push-power"], flags: ["--json", "--unlimited-pushes", "--answer-with-view", "--sample-every-id", "--adaptive"], usage: usage) else { return 2 }
        func whole(_ name: String, _ fallback: Int, _ range: ClosedRange<Int>) -> Int? { wholeOption(o[name], fallback, range) }
        func share(_ name: String, _ fallback: String, _ most: Double) -> Double? {
            guard let v = Format.decimal(Substring(o[name] ?? fallback)), v >= 0, v <= most else { return nil }
            return v
        }
        var c = GossipSimulation.Config()
        let nodes = whole("--nodes", 1000, 10...200_000), malicious = share("--malicious", "0.1", 0.5), churn = share("--churn", "0.1", 0.9)
        let view = whole("--view", 40, 3...5000), sample = whole("--sample", 40, 1...5000)
        let rounds = whole("--rounds-per-epoch", 12, 1...1000), epochs = whole("--epochs", 4, 3...100)
        let seed = UInt64(o["--seed"] ?? "1"), victims = whole("--victims", 0, 0...1000)
        let floodLimit = whole("--flood-limit", 0, 1...100_000)   // 0: the default for the view size
        let power = share("--push-power", "1", 1000)
        guard let nodes, let malicious, let churn, let view, let sample, let rounds, let epochs, let seed, let victims,
              let floodLimit, let power else {
            return CLI.usageError("--nodes 10…200000, --malicious 0…0.5, --churn 0…0.9, --view 3…5000, --sample 1…5000, "
                                  + "--rounds-per-epoch 1…1000, --epochs 3…100, --seed an integer, --victims 0…1000, --flood-limit 1…100000, "
                                  + "--push-power 0…1000")
        }
        c.nodes = nodes
        c.malicious = malicious
        c.churn = churn
        c.parameters = BrahmsParameters(viewSize: view, sampleSize: sample)
        c.parameters.sampleEveryID = o["--sample-every-id"] != nil
        if floodLimit > 0 { c.parameters.acceptedPushes = floodLimit }
        c.roundsPerEpoch = rounds
        c.epochs = epochs
        c.seed = seed
        c.victims = victims
        c.adaptiveVictims = o["--adaptive"] != nil
        c.pushPower = power
        c.unlimitedPushes = o["--unlimited-pushes"] != nil
        c.answerWithView = o["--answer-with-view"] != nil
        let json = o["--json"] != nil
        var sim = GossipSimulation(c)
        let perDay = 86_400 / Double(c.epochSeconds)
        if !json {
            Terminal.line("\(nodes) nodes (\(Format.fixed(malicious * 100, 0))% malicious), views \(view), samples \(sample), "
                          + "\(rounds) rounds per epoch; churn \(Format.fixed(churn * 100, 0))% in epoch 2")
        }
        // A progress line on stderr every round of long runs (stdout keeps the report).
        let total = c.roundsPerEpoch * c.epochs
        sim.run(roundDone: { done in
            if nodes >= 20_000 { Terminal.error("simulate: round \(done) of \(total)") }
        }) { r in
            let f = { (x: Double) in Format.number(x, significant: 4) }
            if json {
                Terminal.line("{\"epoch\":\(r.epoch),\"nodes\":\(nodes),\"honest_nodes\":\(r.honestNodes),\"view\":\(view),\"sample\":\(sample),"
                              + "\"rounds_per_epoch\":\(rounds),\"malicious\":\(f(malicious)),\"unlimited_pushes\":\(c.unlimitedPushes),\"push_power\":\(f(c.pushPower)),\"answer_with_view\":\(c.answerWithView),\"sample_every_id\":\(c.parameters.sampleEveryID),"
                              + "\"bytes_per_node_epoch\":\(f(r.bytesPerNode)),\"bytes_per_node_day\":\(f(r.bytesPerNode * perDay)),"
                              + "\"bytes_per_client_day\":\(f(r.bytesPerClient * perDay)),"
                              + "\"malicious_in_samples\":\(f(r.maliciousInSamples)),\"malicious_in_views\":\(f(r.maliciousInViews)),"
                              + "\"dead_in_samples_before_refresh\":\(f(r.deadInSamplesBeforeRefresh)),"
                              + "\"dead_in_samples_after_refresh\":\(f(r.deadInSamplesAfterRefresh)),"
                              + "\"joiners_heard_by\":\(f(r.joinersReached)),\"joiners_in_samples\":\(f(r.joinersInSamples)),\"rounds_to_99pct\":\(r.roundsToReach.map { String($0) } ?? "null"),"
                              + "\"flooded_rounds\":\(r.floodedRounds),\"cut_off_rounds\":\(r.cutOffRounds),\"memory_per_node\":\(r.memoryPerNode),"
                              + "\"victims\":\(victims),\"adaptive\":\(c.adaptiveVictims),\"flood_limit\":\(c.parameters.acceptedPushes),\"malicious_in_victim_samples\":\(f(r.maliciousInVictimSamples)),\"victim_flooded_rounds\":\(r.victimFloodedRounds)}")
            } else {
                Terminal.line("epoch \(r.epoch): \(Format.fixed(r.bytesPerNode * perDay / 1e6, 1)) MB/day per node, "
                              + "\(Format.fixed(r.bytesPerClient * perDay / 1e6, 2)) per client; malicious \(Format.fixed(r.maliciousInSamples * 100, 1))% "
                              + "of samples (\(Format.fixed(r.maliciousInViews * 100, 1))% of views); dead in samples "
                              + "\(Format.fixed(r.deadInSamplesBeforeRefresh * 100, 1))% → \(Format.fixed(r.deadInSamplesAfterRefresh * 100, 1))% at the epoch's end; "
                              + "joiners heard by \(Format.fixed(r.joinersReached * 100, 1))%, in samples at \(Format.fixed(r.joinersInSamples, 2))× a node's share"
                              + (r.roundsToReach.map { " (99% after \($0) rounds)" } ?? "")
                              + "; \(r.floodedRounds) flooded, \(r.cutOffRounds) cut-off rounds; \(r.memoryPerNode / 1024) KiB per node"
                              + (victims > 0 ? "; victims' samples \(Format.fixed(r.maliciousInVictimSamples * 100, 1))% malicious, "
                                 + "\(r.victimFloodedRounds) of their rounds flooded" : ""))
            }
        }
        return 0
    }
}
