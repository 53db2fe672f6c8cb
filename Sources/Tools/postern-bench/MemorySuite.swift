import CAllocCounter
import PosternClient
import PosternCrypto
import PosternLocalNetwork
import PosternNetwork
import PosternNode
import PosternPacket
import PosternSystem

/// Suite `memory`: what a node costs in memory, idle and at load. Four real nodes (a gateway and three
/// mixes, one process) are started after a baseline is taken; every line is the growth over the
/// baseline divided by the four nodes.
///
/// - `heap-idle-node`, `heap-load-node`: bytes the process has allocated and not freed (glibc's
///   `mallinfo2`, in-use chunks plus mmapped blocks): the nodes' own memory, whoever allocated it, not
///   code, stacks or the mailbox's memory-mapped file. Under qemu this is the emulated program's own
///   allocator, so qemu's translation cache and its own heap are not in it: this is how the aarch64
///   numbers are taken. An upper bound: a large block counts whole even where no page was touched.
/// - `rss-idle-node`, `rss-load-node`: growth of the process's resident set (VmRSS). Meaningful on a
///   board or the host; under qemu it includes qemu's own growth (translated code), so it is reported
///   but not the aarch64 figure.
/// - load: packets offered at 5 000 a second through the gateway's client port, gateway → mix1 → mix2
///   → mix3, 20 ms of mixing delay at each hop, for up to 3 s (fewer where building them is slow); the
///   line's unit says the rate the nodes actually forwarded. Peak over the run, sampled every turn.
/// - `anon-idle-node`, `anon-load-node`: growth of the resident pages of the process's private anonymous
///   mappings (/proc/self/maps and mincore): the nodes' own memory as the kernel holds it, without code
///   or the mailbox's file. Under qemu both calls see the emulated program's mappings only, so this is
///   the aarch64 figure for the goals; the load figure is sampled every 64 turns and at the end.
/// - `rss-process`: the whole process after the load, runtime and all (MiB).
///
/// Goals (issue #16): idle ≤ 4 MiB per node on aarch64, ≤ 16 MiB at 5 k packets/s (the anon lines).
func memorySuite() -> Suite {
    Suite(name: "memory") {
        // The baseline and the network are made when the first line runs, not when lines are listed, so
        // what other suites allocate while they run is not counted here.
        var made: MemoryBench?
        func bench() -> MemoryBench? {
            if made == nil { made = MemoryBench() }
            return made
        }
        let mib = 1024.0 * 1024.0
        var idleHeap = 0, idleRSS = 0, idleAnon = 0
        let heapIdle = BenchLine.value("heap-idle-node") {
            guard let b = bench() else { return (0, "MiB (no network)") }
            // One packet through, so the links exist: an idle node is one that is connected, not a fresh one.
            if let p = try? b.builder.build(route: b.hops, to: .mailbox(.random()), message: [0, 1, 7]) { b.client.submit(p) { _, _ in } }
            _ = b.net.run(seconds: 10) { b.lastMix.stats.droppedNotGateway >= 1 }
            _ = b.net.run(seconds: 1) { false }
            idleHeap = Int(palloc_heap_bytes()) - b.heap0
            idleRSS = residentBytes() - b.rss0
            idleAnon = Int(palloc_resident_anon_bytes()) - b.anon0
            return (Double(idleHeap) / b.nodes / mib, "MiB")
        }
        let rssIdle = BenchLine.value("rss-idle-node") { (Double(idleRSS) / (bench()?.nodes ?? 1) / mib, "MiB") }
        let anonIdle = BenchLine.value("anon-idle-node") { (Double(idleAnon) / (bench()?.nodes ?? 1) / mib, "MiB") }

        var peakHeap = 0, peakRSS = 0, peakAnon = 0, forwardedPerSecond = 0.0
        let heapLoad = BenchLine.value("heap-load-node") {
            guard let b = bench() else { return (0, "MiB (no network)") }
            var packets: [[UInt8]] = []
            let buildStart = EventLoop.now()
            while packets.count < 15_000 && EventLoop.now() - buildStart < 3_000_000_000 {
                guard let p = try? b.builder.build(route: b.hops, to: .mailbox(.random()), message: [0, 1, 7]) else { break }
                packets.append(p)
            }
            let before = b.lastMix.stats.droppedNotGateway
            let start = EventLoop.now()
            var next = 0, sampleTurns = 0
            func sample() {
                peakHeap = max(peakHeap, Int(palloc_heap_bytes()) - b.heap0)
                peakRSS = max(peakRSS, residentBytes() - b.rss0)
                sampleTurns += 1
                if sampleTurns % 64 == 0 { peakAnon = max(peakAnon, Int(palloc_resident_anon_bytes()) - b.anon0) }
            }
            while next < packets.count {
                let due = min(packets.count, Int(Double(EventLoop.now() - start) / 1e9 * 5000))
                while next < due {
                    b.client.submit(packets[next]) { _, _ in }
                    next += 1
                }
                b.net.loop.run(until: EventLoop.now() &+ 1_000_000)
                sample()
            }
            let offered = EventLoop.now() - start
            _ = b.net.run(seconds: 2) {
                sample()
                return b.lastMix.stats.droppedNotGateway - before >= packets.count
            }
            forwardedPerSecond = Double(b.lastMix.stats.droppedNotGateway - before) / (Double(offered) / 1e9)
            return (Double(peakHeap) / b.nodes / mib, "MiB at \(Int(forwardedPerSecond)) packets/s")
        }
        let rssLoad = BenchLine.value("rss-load-node") {
            (Double(peakRSS) / (bench()?.nodes ?? 1) / mib, "MiB at \(Int(forwardedPerSecond)) packets/s")
        }
        let anonLoad = BenchLine.value("anon-load-node") {
            guard let b = bench() else { return (0, "MiB (no network)") }
            peakAnon = max(peakAnon, Int(palloc_resident_anon_bytes()) - b.anon0)
            return (Double(peakAnon) / b.nodes / mib, "MiB at \(Int(forwardedPerSecond)) packets/s")
        }
        let process = BenchLine.value("rss-process") { (Double(residentBytes()) / mib, "MiB") }
        return [heapIdle, rssIdle, anonIdle, heapLoad, rssLoad, anonLoad, process]
    }
}

/// The memory suite's baseline and network: taken and started together, baseline first.
final class MemoryBench {
    let heap0: Int, rss0: Int, anon0: Int
    let net: LocalNetwork
    let nodes: Double
    let hops: [RouteHop]
    let lastMix: Node
    let client: GatewayClient
    let builder: PacketBuilder

    init?() {
        heap0 = Int(palloc_heap_bytes())
        rss0 = residentBytes()
        anon0 = Int(palloc_resident_anon_bytes())
        let base = (Process.environment("TMPDIR") ?? "/tmp") + "/postern-memory-\(Process.id)"
        guard let net = try? LocalNetwork(layers: 3, gateways: 1, dataDirectory: base), (try? net.start()) != nil else { return nil }
        benchCleanups.append {
            net.stop()
            try? Files.removeTree(base)
        }
        self.net = net
        nodes = Double(net.nodes.count)
        let t = net.topology
        let gateway = t.gateways[0]
        let route = [gateway] + (1...3).map { t.mixes(layer: $0)[0] }
        hops = route.map { RouteHop(node: $0.id, link: $0.nextHop, packetKey: $0.packetKey, epoch: t.epoch, delayMicros: 20_000) }
        lastMix = net.nodes.first { $0.id == route[3].id }!
        client = GatewayClient(loop: net.loop, gateway: gateway)
        builder = PacketBuilder(geometry: t.geometry)
    }
}

/// The process's resident set (VmRSS in /proc/self/status), in bytes; 0 where it cannot be read.
func residentBytes() -> Int {
    guard let bytes = try? Files.read("/proc/self/status", limit: 1 << 16) else { return 0 }
    let text = String(decoding: bytes, as: UTF8.self)
    for line in text.split(separator: "\n") where line.hasPrefix("VmRSS:") {
        let digits = line.filter { $0 >= "0" && $0 <= "9" }
        return (Int(String(digits)) ?? 0) * 1024
    }
    return 0
}
