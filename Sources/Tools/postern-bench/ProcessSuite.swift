import PosternClient
import PosternCrypto
import PosternLocalNetwork
import PosternNetwork
import PosternNode
import PosternPacket
import PosternSystem

/// Suite `processes`: the relay path through real `postern node run` processes, each on its own loopback
/// address (127.0.0.2 … 127.0.0.5), linked by TCP and Noise and formed by gossip from one bootstrap line
/// (epochs of an hour, so no key changes under the measurement). The bench is a client of the gateway
/// process: packets go gateway → mix (layer 1) → mix (2) → mix (3) with zero mixing delay; the last mix
/// unwraps and drops them (not a gateway) and counts them in its metrics, which the bench reads.
///
/// - `process-forward`: wall time per packet per hop (total / 4), beside the in-process `relay-forward`.
///   Four processes share the machine's cores, so this is a throughput figure, not a cost per hop.
/// - `process-forward-cpu`: CPU time the four node processes spent per packet per hop (their CPU clocks
///   over a batch): the cost a relay pays per hop with real links, syscalls and processes.
///
/// Needs the `postern` binary beside `postern-bench` (as both are built and packaged). The processes
/// start when a line first runs, not when the lines are listed (`--list`, `--filter`).
func processSuite() -> Suite {
    Suite(name: "processes") {
        guard let me = ChildProcess.executablePath else { return [] }
        let binary = String(me[..<(me.lastIndex(of: "/") ?? me.startIndex)]) + "/postern"
        guard Files.exists(binary) else {
            Terminal.error("postern-bench: processes: no \(binary) beside postern-bench; suite skipped")
            return []
        }
        var started: ProcessBench?
        func bench() -> ProcessBench {
            if let started { return started }
            let made = startProcesses(binary: binary)
            started = made
            return made
        }
        var forward = BenchLine.timed("process-forward", baseline: "unwrap") { _ in bench().drive() }
        forward.prepare = { n in bench().prebuild(n) }
        let cpu = BenchLine.value("process-forward-cpu", baseline: "unwrap") {
            let b = bench()
            b.prebuild(4000)
            let before = b.cpuNanoseconds()
            b.drive()
            return (Double(b.cpuNanoseconds() - before) / Double(b.packetCount()) / 4, "ns/hop")
        }
        return [forward.perHop(4), cpu]
    }
}

/// The running processes and what the lines do with them.
typealias ProcessBench = (prebuild: (Int) -> Void, drive: () -> Void, cpuNanoseconds: () -> UInt64, packetCount: () -> Int)

/// Starts the four node processes, forms the network, warms the links.
func startProcesses(binary: String) -> ProcessBench {
    let base = (Process.environment("TMPDIR") ?? "/tmp") + "/postern-processes-\(Process.id)"
    let roles = ["gateway", "mix", "mix", "mix"]
    var nodes: [NodeProcess] = []
    benchCleanups.append {
        for n in nodes { n.stop() }
        try? Files.removeTree(base)
    }
    let limits = "[mixing]\nmax_queued_packets = 16384\nmax_pending_per_link = 4096"
    do throws(SystemError) {
        for (i, role) in roles.enumerated() {
            let n = try NodeProcess(binary: binary, name: "\(role)\(i)", directory: base + "/node\(i)", host: "127.0.0.\(i + 2)")
            nodes.append(n)
            let bootstrap = i == 0 ? "" : nodes[0].peerLine(port: nodes[0].logged("listening on port ") ?? 0)
            try n.start(role: role, bootstrap: bootstrap, epochSeconds: 3600, extra: limits)
        }
    } catch { fail("processes: cannot start the nodes: \(error.description)") }
    let loop: EventLoop
    do throws(SystemError) { loop = try EventLoop() } catch { fail("processes: \(error.description)") }
    func counter(_ n: NodeProcess, _ name: String) -> Int { Int(n.metrics(loop)?[name] ?? -1) }
    // Every node learns all four by gossip.
    let formed = Clock.monotonicNanoseconds() &+ 30_000_000_000
    while nodes.contains(where: { counter($0, "postern_view_descriptors") < roles.count }) {
        if Clock.monotonicNanoseconds() > formed { fail("processes: the nodes did not learn each other in 30 s:\n" + nodes.map { $0.name + ": " + $0.log }.joined(separator: "\n")) }
        Clock.sleep(nanoseconds: 100_000_000)
    }
    guard let clientPort = nodes[0].logged("clients on "), let gatewayPeer = Peer(nodes[0].peerLine(port: clientPort)) else {
        fail("processes: the gateway did not open its client port")
    }
    let network = ClientNetwork(parameters: NetworkParameters(epochSeconds: 3600, layers: 3), bootstrap: gatewayPeer)
    guard network.refreshNow(loop: loop, seconds: 10) != nil, network.isRoutable else { fail("processes: no routable map from the gateway") }
    let t = network.topology
    guard let gateway = t.gateways.first else { fail("processes: no gateway in the map") }
    let route = [gateway] + (1...3).map { t.mixes(layer: $0)[0] }
    let hops = route.map { RouteHop(node: $0.id, link: $0.nextHop, packetKey: $0.packetKey, epoch: t.epoch, delayMicros: 0) }
    guard let last = nodes.first(where: { $0.secrets.id == route[3].id }) else { fail("processes: the last mix is not one of ours") }
    let client = GatewayClient(loop: loop, gateway: gateway)
    let builder = PacketBuilder(geometry: t.geometry)
    let arrived = "postern_packets_dropped_total{reason=\"not_gateway\"}"
    var packets: [[UInt8]] = []
    func prebuild(_ n: Int) {
        packets.removeAll(keepingCapacity: true)
        for _ in 0..<n { packets.append(try! builder.build(route: hops, to: .mailbox(.random()), message: [0, 1, 7])) }
    }
    /// Sends the prebuilt packets, at most 1 024 in flight, until the last mix has counted them all.
    func drive() {
        let start = counter(last, arrived)
        var next = 0, seen = start, progressAt = Clock.monotonicNanoseconds()
        while seen < start + packets.count {
            while next < packets.count && next - (seen - start) < 1024 {
                client.submit(packets[next]) { _, _ in }
                next += 1
            }
            loop.run(until: EventLoop.now() &+ 2_000_000)
            let now = counter(last, arrived)
            if now > seen { progressAt = Clock.monotonicNanoseconds() }
            seen = max(seen, now)
            if Clock.monotonicNanoseconds() - progressAt > 10_000_000_000 {
                let drops = nodes.map { n in n.name + " " + (n.metrics(loop) ?? [:]).filter { $0.key.hasPrefix("postern_packets_dropped_total") && $0.value > 0 }
                    .map { "\($0.key)=\(Int($0.value))" }.joined(separator: " ") }
                fail("processes: packets stopped arriving (\(seen - start) of \(packets.count)); drops: " + drops.joined(separator: "; "))
            }
        }
    }
    // Links up and warm.
    prebuild(16)
    drive()
    return (prebuild, drive, { nodes.reduce(UInt64(0)) { $0 + $1.cpuNanoseconds } }, { packets.count })
}
