import PosternClient
import PosternCover
import PosternCrypto
import PosternLocalNetwork
import PosternNetwork
import PosternNode
import PosternSystem

/// Suite `latency` (not part of `all`: it takes about four minutes): end-to-end latency of the two latency
/// modes (docs/ANONYMITY.md) through five real `postern node run` processes on loopback (gateways
/// 127.0.0.2 and .3, mixes .4–.6, formed by gossip), between two profiles as `postern inbox --watch`
/// runs them: alice's cover schedule of the mode sends each message in a payload slot; bob fetches every
/// poll interval of the mode. Alice writes 40 messages per mode, each an exponential time (mean 2 s) after
/// the last one left, so none waits behind another (a person writes far less often than the one-per-2-s
/// payload slots; written every 3 s instead, messages queue and the median doubles); a message's latency
/// runs from being written (queued) to bob having it.
///
/// Lines `latency-MODE-p50`, `-p90`, `-p99`, `-max` (seconds). Needs `postern` beside `postern-bench`.
func latencySuite() -> Suite {
    Suite(name: "latency") {
        var results: [String: [Double]] = [:]
        func measured(_ mode: LatencyMode) -> [Double] {
            if let r = results[mode.name] { return r }
            let r = LatencyRun.measure(mode, messages: 40)
            results[mode.name] = r
            return r
        }
        var lines: [BenchLine] = []
        for mode in [LatencyMode.fast, .strong] {
            for (name, q) in [("p50", 0.5), ("p90", 0.9), ("p99", 0.99), ("max", 1.0)] {
                lines.append(BenchLine.value("latency-\(mode.name)-\(name)") {
                    let sorted = measured(mode).sorted()
                    return (sorted[min(sorted.count - 1, Int(q * Double(sorted.count)))], "s")
                })
            }
        }
        return lines
    }
}

enum LatencyRun {
    /// Latencies (s) of `messages` messages sent in `mode` through a fresh five-process network.
    static func measure(_ mode: LatencyMode, messages: Int) -> [Double] {
        let (nodes, loop, base) = BenchNetwork.start("latency-\(mode.name)")
        defer { BenchNetwork.stop(nodes, base) }
        guard let p = mode.parameters else { fail("latency: a named mode") }
        var networks: [ClientNetwork] = []
        var sessions: [Session] = []
        do throws(ProfileError) {
            var profiles: [Profile] = []
            for (i, name) in ["alice", "bob"].enumerated() {
                networks.append(BenchNetwork.clientNetwork(nodes[i], loop, "latency"))
                let profile = try Profile.create(directory: base + "/" + name, passphrase: Array("latency bench".utf8))
                try profile.save(ProfileSettings(gateway: nodes[i].secrets.id, createdAt: Clock.wallSeconds()))
                profiles.append(profile)
            }
            try profiles[0].meet(profiles[1], calling: "bob", calledBy: "alice", now: Clock.wallSeconds())
            for i in 0..<2 {
                sessions.append(try Session(profile: profiles[i], network: networks[i], loop: loop,
                                            meanDelayMicros: Double(p.meanDelayMillis) * 1000))
            }
        } catch { fail("latency: profiles: \(error.description)") }
        let (alice, bob) = (sessions[0], sessions[1])
        defer { alice.close(); bob.close() }
        var latencies: [Double] = []
        bob.onMessage = { entry in
            let text = String(decoding: entry.text, as: UTF8.self)
            if let written = UInt64(text.split(separator: " ").last ?? "") {
                latencies.append(Double(Clock.monotonicNanoseconds() - written) / 1e9)
            }
        }
        let cover = ClientCover(courier: alice.courier, client: alice.client, config: p.cover(), loop: loop)
        alice.cover = cover   // alice's polls fetch the cover's loops and acknowledgements too
        var random = SimRandom(seed: 7)
        var pending = false
        var nextWrite = Clock.monotonicNanoseconds()
        cover.sendReal = {
            guard ((try? alice.flushOutbox(limit: 1)) ?? 0) == 1 else { return false }
            pending = false
            nextWrite = Clock.monotonicNanoseconds() &+ UInt64(Exponential.sample(mean: 2e9, uniform53: random.next()))
            return true
        }
        cover.start()
        var written = 0
        var nextPoll = Clock.monotonicNanoseconds()
        let deadline = Clock.monotonicNanoseconds() &+ UInt64(Double(messages) * 8e9 + 90e9)
        Terminal.error("postern-bench: latency \(mode.name): \(messages) messages, about \(messages * 6) s")
        while latencies.count < messages && Clock.monotonicNanoseconds() < deadline {
            let now = Clock.monotonicNanoseconds()
            if written < messages && !pending && now >= nextWrite {
                _ = try? alice.queue(Array("latency \(written) \(now)".utf8), to: "bob")
                written += 1
                pending = true
            }
            if now >= nextPoll {
                bob.poll { _ in }
                alice.poll { _ in }   // acknowledgements, so the outbox empties as it does for a person
                nextPoll = now &+ UInt64(p.pollSeconds) * 1_000_000_000
            }
            loop.run(until: EventLoop.now() &+ 5_000_000)
        }
        cover.stop()
        guard latencies.count == messages else { fail("latency \(mode.name): \(latencies.count) of \(messages) messages arrived") }
        return latencies
    }
}
