import PosternClient
import PosternCover
import PosternNetwork
import PosternPacket
import PosternSystem
import Testing

/// The named latency modes in client.toml, and the anonymity simulator that measures them
/// (docs/ANONYMITY.md).
@Suite struct LatencyModeTests {
    static let gateway = "[network]\ngateway = \"127.0.0.1:7100#" + String(repeating: "ab", count: 32) + "\"\n"

    @Test func aNamedModeSetsDelayPollAndCover() throws {
        let c = try ClientConfig(text: Self.gateway + "[client]\nmode = \"strong\"\n[cover]\nbytes_per_day_mb = 250\n", path: "c.toml")
        #expect(c.mode == .strong)
        #expect(c.meanDelayMillis == 800 && c.pollSeconds == 4)
        let cover = try #require(c.cover)   // a mode turns cover on: its latency and anonymity assume it
        #expect(cover.payloadRate == 0.5 && cover.loopRate == 0.2 && cover.dropRate == 0.2)
        #expect(cover.bytesPerDay == 250 << 20)   // the budget stays the person's
        // Written back, the file names the mode and not the keys it sets, and reads back the same.
        let again = try ClientConfig(text: c.text, path: "c.toml")
        #expect(again == c)
        #expect(!c.text.contains("mean_delay_ms") && c.text.contains("mode = \"strong\""))
    }

    @Test func customKeepsTheFilesKeys() throws {
        let c = try ClientConfig(text: Self.gateway + "mean_delay_ms = 70\n[client]\nmode = \"custom\"\npoll_seconds = 9\n", path: "c.toml")
        #expect(c.mode == .custom && c.meanDelayMillis == 70 && c.pollSeconds == 9 && c.cover == nil)
        #expect(try ClientConfig(text: c.text, path: "c.toml") == c)
        let plain = try ClientConfig(text: Self.gateway, path: "c.toml")
        #expect(plain.mode == .custom && plain.meanDelayMillis == 50)
    }

    @Test func aModeWithAKeyItSetsIsRefusedWithTheLine() {
        #expect(throws: ConfigError(line: 6, message: "'network.mean_delay_ms' is set by mode \"fast\"; remove it, or use mode = \"custom\"")) {
            try ClientConfig(text: Self.gateway + "[client]\nmode = \"fast\"\n[network]\nmean_delay_ms = 10\n", path: "c.toml")
        }
        #expect(throws: ConfigError(line: 4, message: "'client.mode' must be \"fast\", \"strong\", \"metered\" or \"custom\"")) {
            try ClientConfig(text: Self.gateway + "[client]\nmode = \"quick\"\n", path: "c.toml")
        }
    }

    @Test func modesCostWhatTheySay() {
        // Uplink at full rate: 42 packets a minute (fast), 54 (strong), of 2 640 bytes.
        #expect(LatencyMode.fast.parameters!.bytesPerDay(packetBytes: 2640) == 42 * 1440 * 2640)
        #expect(LatencyMode.strong.parameters!.bytesPerDay(packetBytes: 2640) == 54 * 1440 * 2640)
        #expect(LatencyMode.metered.parameters!.bytesPerDay(packetBytes: 2640) == 84 * 24 * 2640)
        #expect(LatencyMode.custom.parameters == nil)
    }

    /// The metered mode: cover on at a payload slot a minute, polls every 30 s, and a 20 MiB budget that
    /// holds every byte at full level (events, polls and acknowledgements, as `ClientCover.costed` counts
    /// them), unless the file sets its own budget.
    @Test func theMeteredModeFitsItsBudgetAtFullLevel() throws {
        let c = try ClientConfig(text: Self.gateway + "[client]\nmode = \"metered\"\n", path: "c.toml")
        let cover = try #require(c.cover)
        #expect(c.mode == .metered && c.pollSeconds == 30 && c.meanDelayMillis == 5000)
        #expect(cover.bytesPerDay == 20 << 20 && abs(cover.payloadRate - 1.0 / 60) < 1e-12)
        let costed = ClientCover.costed(cover, geometry: .standard, pollSeconds: 30, mapBytes: 20 * 400, epochSeconds: 3600)
        let day = costed.fullBytesPerSecond * 86_400 + costed.otherBytesPerSecond * 86_400
        #expect(day < Double(cover.bytesPerDay) && day > 0.5 * Double(cover.bytesPerDay), "\(day) bytes a day at full level")
        #expect(try ClientConfig(text: c.text, path: "c.toml") == c)
        let own = try ClientConfig(text: Self.gateway + "[client]\nmode = \"metered\"\n[cover]\nbytes_per_day_mb = 50\n", path: "c.toml")
        #expect(own.cover?.bytesPerDay == 50 << 20)
        // Every mode's own budget holds its full level, every byte counted.
        for mode in [LatencyMode.fast, .strong, .metered] {
            let m = try ClientConfig(text: Self.gateway + "[client]\nmode = \"\(mode.name)\"\n", path: "c.toml")
            let k = ClientCover.costed(try #require(m.cover), geometry: .standard, pollSeconds: Double(m.pollSeconds), mapBytes: 20 * 400, epochSeconds: 3600)
            #expect((k.fullBytesPerSecond + k.otherBytesPerSecond) * 86_400 < Double(k.bytesPerDay), "\(mode.name)")
        }
    }
}

@Suite struct AnonymitySimulationTests {
    static func small(_ mode: LatencyMode = .fast, seed: UInt64 = 3) -> AnonymitySimulation.Config {
        var c = AnonymitySimulation.Config()
        c.apply(mode)
        c.clients = 60; c.mixesPerLayer = 2; c.gateways = 2
        c.seconds = 600; c.warmupSeconds = 120; c.drainSeconds = 90
        c.messagesPerHour = 30; c.targets = 60
        c.seed = seed
        return c
    }

    static func run(_ c: AnonymitySimulation.Config) -> AnonymitySimulation.Report {
        var sim = AnonymitySimulation(c)
        return sim.run()
    }

    @Test func aSeedGivesTheSameRun() {
        let a = Self.run(Self.small()), b = Self.run(Self.small()), other = Self.run(Self.small(seed: 4))
        #expect(a.entropy == b.entropy && a.latencyP50 == b.latencyP50 && a.packets == b.packets)
        #expect(a.packets != other.packets)
    }

    /// A message alone in the network cannot hide: one client, one node per layer, no cover besides its
    /// own rare slots, so the observer always knows which packet it is (entropy 0).
    @Test func aLonePacketHasNoEntropy() {
        var c = AnonymitySimulation.Config()
        c.clients = 2; c.mixesPerLayer = 1; c.gateways = 1
        c.cover.payloadRate = 0.01; c.cover.loopRate = 0.0001; c.cover.dropRate = 0.0001
        c.meanDelayMillis = 50
        c.messagesPerHour = 30; c.seconds = 3000; c.warmupSeconds = 100; c.drainSeconds = 60; c.targets = 5
        let r = Self.run(c)
        #expect(r.targetsFollowed >= 3)
        #expect(r.endToEnd < 0.05, "\(r.entropy)")
    }

    /// Loopix's published trend (Piotrowska et al. 2017, §5): sender entropy rises with the
    /// mean mixing delay and with the cover rate; latency rises with the delay and falls with the rate.
    @Test func entropyRisesWithDelayAndCover() {
        var short = Self.small(), long = Self.small(), sparse = Self.small(), dense = Self.small()
        short.meanDelayMillis = 50; long.meanDelayMillis = 800
        sparse.cover.payloadRate /= 4; sparse.cover.loopRate /= 4; sparse.cover.dropRate /= 4
        dense.cover.payloadRate *= 4; dense.cover.loopRate *= 4; dense.cover.dropRate *= 4
        dense.cover.bytesPerDay = 1 << 40
        let (s, l, sp, d) = (Self.run(short), Self.run(long), Self.run(sparse), Self.run(dense))
        #expect(l.endToEnd > s.endToEnd + 2, "delay 50 ms: \(s.entropy), 800 ms: \(l.entropy)")
        #expect(d.endToEnd > sp.endToEnd + 2, "rate ¼: \(sp.entropy), 4×: \(d.entropy)")
        #expect(l.latencyP50 > s.latencyP50 && d.latencyP50 < sp.latencyP50)
        // Each hop adds entropy; never more than log₂ of the packets that entered.
        for r in [s, l, sp, d] {
            #expect(zip(r.entropy, r.entropy.dropFirst()).allSatisfy { $0 < $1 }, "\(r.entropy)")
            #expect(r.endToEnd < Exponential.ln(Double(r.packets)) / Exponential.ln(2))
        }
    }

    /// The modes' targets in the default simulated network: median ≤ 5 s (fast) and ≤ 10 s (strong),
    /// and strong hides better.
    @Test func modesMeetTheirMedianLatency() {
        var fast = AnonymitySimulation.Config(), strong = AnonymitySimulation.Config()
        fast.apply(.fast); strong.apply(.strong)
        fast.clients = 100; strong.clients = 100
        fast.seconds = 900; strong.seconds = 900
        let (f, s) = (Self.run(fast), Self.run(strong))
        #expect(f.messagesDelivered > 50 && s.messagesDelivered > 50)
        #expect(f.latencyP50 <= 5, "fast median \(f.latencyP50) s")
        #expect(s.latencyP50 <= 10, "strong median \(s.latencyP50) s")
        #expect(s.endToEnd > f.endToEnd + 1, "fast \(f.entropy), strong \(s.entropy)")
    }
}
