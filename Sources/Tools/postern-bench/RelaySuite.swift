import PosternClient
import PosternCrypto
import PosternLocalNetwork
import PosternNetwork
import PosternNode
import PosternPacket
import PosternSystem

/// Suite `relay`: real nodes on loopback (one process, one core, one event loop). Packets enter gateway 1
/// through its client port and travel gateway1 → mix1 → mix2 → mix3 with zero mixing delay; the last mix
/// has no mailbox and drops them after unwrapping. Each packet thus costs 4 unwraps, 3 Noise-encrypted
/// link hops and one client frame, all on the same core.
///
/// - `relay-forward`: wall time per packet per hop (total / 4), against `unwrap` from the packet suite
///   (goal ≤ 1.25: a relay spends its time on the one X25519, not on plumbing).
/// - `mix-forward`: the same through the three mixes only, each packet handed to mix1 as if from a link
///   (no client, no gateway): the mix forwarding path, whose allocations per hop must stay 0.
/// - `hop-latency`: added latency per hop beyond the chosen (zero) delay, at ≈ 1 000 packets/s.
func relaySuite() -> Suite {
    Suite(name: "relay") {
        let base = (Process.environment("TMPDIR") ?? "/tmp") + "/postern-relay-\(Process.id)"
        guard let net = try? LocalNetwork(layers: 3, gateways: 1, dataDirectory: base, configure: { $0.maxQueuedPackets = 16384 }),
              (try? net.start()) != nil else { return [] }
        benchCleanups.append {
            net.stop()
            try? Files.removeTree(base)
        }
        let t = net.topology
        let gateway = t.gateways[0]
        let route = [gateway] + (1...3).map { t.mixes(layer: $0)[0] }
        let hops = route.map { RouteHop(node: $0.id, link: $0.nextHop, packetKey: $0.packetKey, epoch: t.epoch, delayMicros: 0) }
        let client = GatewayClient(loop: net.loop, gateway: gateway)
        let builder = PacketBuilder(geometry: t.geometry)
        // Layers are dealt per epoch from the descriptors: find the nodes by id.
        func node(_ info: NodeInfo) -> Node { net.nodes.first { $0.id == info.id }! }
        let lastMix = node(route[3])
        var packets: [[UInt8]] = []
        func prebuild(_ n: Int) {
            packets.removeAll(keepingCapacity: true)
            for _ in 0..<n { packets.append(try! builder.build(route: hops, to: .mailbox(.random()), message: [0, 1, 7])) }
        }
        // Connect and warm the links, once, before the first line measures (not when lines are listed).
        var warmed = false
        func warm() {
            guard !warmed else { return }
            warmed = true
            prebuild(8)
            for p in packets { client.submit(p) { _, _ in } }
            _ = net.run(seconds: 5) { lastMix.stats.droppedNotGateway >= 8 }
            // The nodes joined by gossip a moment ago; their quick rounds (one per node learnt) end within
            // seconds. Measure the settled network, whose gossip runs once per interval.
            _ = net.run(seconds: 3) { false }
        }

        var forward = BenchLine.timed("relay-forward", baseline: "unwrap") { n in
            let target = lastMix.stats.droppedNotGateway + n
            var next = 0
            // Keep at most 512 packets in flight so no queue overflows.
            while lastMix.stats.droppedNotGateway < target {
                while next < n && next - (lastMix.stats.droppedNotGateway - (target - n)) < 512 {
                    client.submit(packets[next]) { _, _ in }
                    next += 1
                }
                net.loop.run(until: EventLoop.now() &+ 1_000_000)
            }
        }
        forward.setup = warm
        forward.prepare = { n in prebuild(n) }

        let mixHops = Array(hops.dropFirst())
        let firstMix = node(route[1])
        var mixPackets: [[UInt8]] = []
        var mixOnly = BenchLine.timed("mix-forward", baseline: "unwrap") { n in
            let target = lastMix.stats.droppedNotGateway + n
            var next = 0
            while lastMix.stats.droppedNotGateway < target {
                while next < n && next - (lastMix.stats.droppedNotGateway - (target - n)) < 512 {
                    mixPackets[next].withUnsafeBytes { _ = firstMix.receive(packet: $0) }
                    next += 1
                }
                net.loop.run(until: EventLoop.now() &+ 1_000_000)
            }
        }
        mixOnly.setup = warm
        mixOnly.prepare = { n in
            mixPackets.removeAll(keepingCapacity: true)
            for _ in 0..<n { mixPackets.append(try! builder.build(route: mixHops, to: .mailbox(.random()), message: [0, 1, 7])) }
        }

        let latency = BenchLine.value("hop-latency") {
            warm()
            prebuild(200)
            var total: UInt64 = 0
            for p in packets {
                let before = lastMix.stats.droppedNotGateway
                let start = EventLoop.now()
                client.submit(p) { _, _ in }
                while lastMix.stats.droppedNotGateway == before { net.loop.run(until: EventLoop.now() &+ 100_000) }
                total += EventLoop.now() - start
                // One packet per millisecond: ≈ 1 000 packets/s offered load.
                let pause = start &+ 1_000_000
                while EventLoop.now() < pause { net.loop.run(until: pause) }
            }
            return (Double(total) / Double(packets.count) / 4 / 1e6, "ms")
        }
        // An idle network (five nodes, one process, nothing sent): CPU seconds per wall second. Goal
        // ≤ 0.001: an idle box (or phone) should not burn its battery waiting.
        let idle = BenchLine.value("idle-cpu") {
            warm()
            _ = net.run(seconds: 0.5) { false }   // what the lines above left in flight drains
            let cpu = Clock.processCPUNanoseconds(), wall = EventLoop.now()
            net.loop.run(until: wall &+ 3_000_000_000)
            return (Double(Clock.processCPUNanoseconds() - cpu) / Double(EventLoop.now() - wall), "cpu s/s")
        }
        return [forward.perHop(4), mixOnly.perHop(3), latency, idle]
    }
}

extension BenchLine {
    /// The same measurement reported per unit of work (e.g. per hop when one iteration is four hops).
    func perHop(_ units: Int) -> BenchLine {
        var line = self
        line.unitsPerIteration = units
        return line
    }
}
