import Foundation
import PosternClient
import PosternCrypto
import PosternNetwork
import PosternSystem
import Testing

/// A network of real node processes on 127.0.0.2 … 127.0.0.6 (three mixes, two gateways) flooded through
/// a gateway's client port, which anyone can reach, after 320 idle sessions were opened against its cap: every node stays inside the memory the shipped unit
/// allows it (board/postern.service: MemoryMax=64M), answers its metrics endpoint and other clients while
/// the flood lasts, and delivers an honest message once it is over. Bounded: 4 to 40 s of flood, at most
/// 40 000 submissions.
/// (In LivingNetworkTests, whose tests run one at a time: two networks of processes at once would load
/// a 2-core machine enough to make both slow.)
extension LivingNetworkTests {
    /// Peak and current resident memory of a process, from /proc (kB → bytes).
    static func processMemory(_ pid: Int32) -> (peak: Int, now: Int, anon: Int) {
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        func field(_ name: String) -> Int {
            guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix(name + ":") }) else { return 0 }
            return (Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0) * 1024
        }
        return (field("VmHWM"), field("VmRSS"), field("RssAnon"))
    }

    @Test func aFloodOfClientsKeepsEveryNodeInsideItsMemoryLimitAndServing() throws {
        let root = NSTemporaryDirectory() + "postern-flood-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: root) }
        let roles = ["mix", "mix", "mix", "gateway", "gateway"]
        let nodes = try Self.makeNodes(roles, root: root)
        defer { for n in nodes { n.stop() } }
        // Gossip every 3.75 s: the view converges in seconds; every packet is built in the first epoch after
        // the refresh and stays valid through the next (the test takes under a minute).
        let epochSeconds = 30
        let (_, gatewayLines) = try Self.startFive(nodes, roles: roles, epochSeconds: epochSeconds)
        for n in nodes {
            let known = Self.viewSize(n, reaching: 5, seconds: 30)
            try #require(known == 5, "\(n.name) knows \(known ?? -1)")
        }

        let loop = try EventLoop()
        let network = ClientNetwork(parameters: NetworkParameters(epochSeconds: UInt32(epochSeconds), layers: 3),
                                    bootstrap: Peer(gatewayLines[0])!)
        try #require(network.refreshNow(loop: loop, seconds: 10) != nil)
        let entry = try #require(network.topology.gateways.first { $0.linkKey == Peer(gatewayLines[0])!.linkKey })
        let exit = try #require(network.topology.gateways.first { $0.id != entry.id })
        // Flood packets wait 2 s on average at each hop, so they pile up in every node's mixing pool.
        let slow = Courier(network: network, ownGateway: entry.id, meanDelayMicros: 2_000_000)
        let fast = Courier(network: network, ownGateway: entry.id, meanDelayMicros: 1000)
        var packets: [[UInt8]] = []
        let buildEnd = Date().addingTimeInterval(6)
        while packets.count < 8000 && Date() < buildEnd {
            packets.append(try slow.packet([UInt8](repeating: 7, count: 200), to: .random(), at: exit.id, acknowledge: false).packet)
        }
        let pids = try nodes.map { try #require($0.pid) }
        let before = pids.map { Self.processMemory($0).now }

        // First 320 idle sessions (anyone can open them): the entry keeps node.max_clients = 256 and
        // refuses the rest; 100 then leave, making room for the flood. The rest stay through it.
        var idle = (0..<320).map { _ in GatewayClient(loop: loop, gateway: entry) }
        defer { for c in idle { c.close() } }
        for c in idle { c.connect() }
        let capEnd = Date().addingTimeInterval(20)
        while Date() < capEnd && (nodes[3].metric("postern_clients_closed_total{reason=\"cap\"}") ?? 0) < 64 {
            loop.run(until: EventLoop.now() &+ 50_000_000)
        }
        #expect(nodes[3].metric("postern_clients_connected") == 256)
        #expect(nodes[3].metric("postern_clients_closed_total{reason=\"cap\"}") == 64)
        for c in idle.prefix(100) { c.close() }
        idle.removeFirst(100)
        let connectedEnd = Date().addingTimeInterval(10)
        while Date() < connectedEnd && (nodes[3].metric("postern_clients_connected") ?? 0) > 156 { loop.run(until: EventLoop.now() &+ 50_000_000) }
        let withIdleSessions = Self.processMemory(pids[3]).now

        // The flood: four sessions keep 512 submissions each in flight for 4 s; the packets are sent
        // again once all have gone (a gateway refuses those as replays, cheaply, which is flood too).
        let attackers = (0..<4).map { _ in GatewayClient(loop: loop, gateway: entry) }
        defer { for a in attackers { a.close() } }
        var inFlight = [Int](repeating: 0, count: attackers.count)
        var submitted = 0, answered = 0, next = 0
        var peakAnon = [Int](repeating: 0, count: pids.count)
        var slowestScrape = 0.0, slowestHonest = 0.0, honestAnswered = 0, honestAsked = 0, heldAtEntry = 0
        let probes = try (0..<8).map { _ in try fast.packet([1], to: .random(), at: exit.id, acknowledge: false).packet }
        let honestAddress = Bytes32.random()
        let start = Date()
        var lastProbe = start, lastSample = start
        // (At least three probes, however slow a loaded machine makes the first batch; at most 40 s.)
        while (Date().timeIntervalSince(start) < 4 || honestAsked < 3) && Date().timeIntervalSince(start) < 40 && submitted < 40_000 {
            for (i, a) in attackers.enumerated() where inFlight[i] < 512 {
                for _ in 0..<(512 - inFlight[i]) {
                    inFlight[i] += 1
                    submitted += 1
                    a.submit(packets[next % packets.count]) { _, _ in inFlight[i] -= 1; answered += 1 }
                    next += 1
                }
            }
            if Date().timeIntervalSince(lastProbe) > 1 {
                lastProbe = Date()
                // Right after the flood was topped up: another client and the operator's metrics are
                // answered while it goes on.
                for n in [nodes[3], nodes[0]] {
                    let t0 = Date()
                    #expect(n.metric("postern_packets_in_total") != nil, "\(n.name) did not answer its metrics during the flood")
                    slowestScrape = max(slowestScrape, Date().timeIntervalSince(t0))
                }
                heldAtEntry = max(heldAtEntry, nodes[3].metric("postern_queue_depth") ?? 0)
                let honest = GatewayClient(loop: loop, gateway: entry)
                honestAsked += 1
                var status: ClientStatus?
                let t0 = Date()
                honest.submit(probes[(honestAsked - 1) % probes.count]) { s, _ in status = s }
                loop.run(until: EventLoop.now() &+ 10_000_000_000, stopWhen: { status != nil })
                honest.close()
                if status != nil { honestAnswered += 1 }
                slowestHonest = max(slowestHonest, Date().timeIntervalSince(t0))
            }
            loop.run(until: EventLoop.now() &+ 5_000_000)
            if Date().timeIntervalSince(lastSample) > 0.05 {
                lastSample = Date()
                for (i, pid) in pids.enumerated() { peakAnon[i] = max(peakAnon[i], Self.processMemory(pid).anon) }
            }
        }
        let floodSeconds = Date().timeIntervalSince(start)
        for a in attackers { a.close() }
        loop.run(until: EventLoop.now() &+ 200_000_000)

        let report = "entry with 256 idle sessions: \(withIdleSessions >> 20) MiB; " + nodes.indices.map { i in
            "\(nodes[i].name) (\(roles[i])): peak RSS \(Self.processMemory(pids[i]).peak >> 20) MiB (\(before[i] >> 20) before), peak anonymous \(peakAnon[i] >> 20) MiB"
        }.joined(separator: "; ")
        let inAtEntry = nodes[3].metric("postern_packets_in_total") ?? 0
        let message = "\(submitted) submitted, \(answered) answered in \(String(format: "%.1f", floodSeconds)) s, \(inAtEntry) packets in at the entry; "
            + "up to \(heldAtEntry) packets held at the entry; \(honestAnswered) of \(honestAsked) other clients answered; slowest metrics scrape \(String(format: "%.2f", slowestScrape)) s, slowest honest submit \(String(format: "%.2f", slowestHonest)) s; " + report
        print("flood: " + message)
        #expect(submitted > 2000, "the flood was too weak to test anything: \(message)")
        for (i, pid) in pids.enumerated() {
            #expect(Self.processMemory(pid).peak <= 64 << 20, "\(nodes[i].name) went past MemoryMax=64M: \(message)")
            #expect(peakAnon[i] <= 48 << 20, "\(nodes[i].name) went past MemoryHigh=48M in anonymous memory: \(message)")
        }
        #expect(slowestScrape < 5, "metrics took \(slowestScrape) s during the flood")
        // (Generous bounds: on a loaded 2-core machine a debug-built node takes ~0.5 ms a packet, and the
        // flood is 2 048 submissions deep when each probe starts. That a turn of the loop takes a bounded
        // batch per connection is TimerHeapTests.aFloodIsReadInBoundedTurns.)
        #expect(honestAsked >= 3 && honestAnswered == honestAsked && slowestHonest < 10, "another client waited \(slowestHonest) s: \(message)")

        // Once the flood is over, an honest message crosses the network and is stored at the exit.
        let receiver = GatewayClient(loop: loop, gateway: exit)
        defer { receiver.close() }
        var sentStatus: ClientStatus?
        let sender = GatewayClient(loop: loop, gateway: entry)
        defer { sender.close() }
        // (Built now, from a fresh view: a slow flood may have outlasted the epoch its packets were built in.)
        #expect(network.refreshNow(loop: loop, seconds: 10) != nil)
        let honestMessage = try fast.packet(Array("honest".utf8), to: honestAddress, at: exit.id, acknowledge: false)
        sender.submit(honestMessage.packet) { s, _ in sentStatus = s }
        loop.run(until: EventLoop.now() &+ 10_000_000_000, stopWhen: { sentStatus != nil })
        #expect(sentStatus == .ok)
        let deliveredEnd = Date().addingTimeInterval(30)
        var fetched: [GatewayClient.Fetched] = []
        while fetched.isEmpty && Date() < deliveredEnd {
            var answer: [GatewayClient.Fetched]??
            receiver.fetch([honestAddress]) { answer = .some($0) }
            loop.run(until: EventLoop.now() &+ 5_000_000_000, stopWhen: { answer != nil })
            fetched = (answer ?? nil) ?? []
            if fetched.isEmpty { loop.run(until: EventLoop.now() &+ 200_000_000) }
        }
        #expect(fetched.count == 1, "the honest message sent after the flood was not delivered within 30 s: \(message)")
    }
}
