import PosternClient
import PosternLocalNetwork
import PosternNetwork
import PosternSystem

/// Five real `postern node run` processes on loopback for the suites that need a network of processes
/// (`latency`, `mobile`): gateways on 127.0.0.2 and .3, mixes on .4–.6, formed by gossip from the first.
enum BenchNetwork {
    static let roles = ["gateway", "gateway", "mix", "mix", "mix"]

    /// Starts the nodes (in a fresh directory named after `name`) and waits until each knows all five.
    /// Needs `postern` beside `postern-bench`; fails the bench otherwise.
    static func start(_ name: String) -> (nodes: [NodeProcess], loop: EventLoop, base: String) {
        guard let me = ChildProcess.executablePath else { fail("\(name): no executable path") }
        let binary = String(me[..<(me.lastIndex(of: "/") ?? me.startIndex)]) + "/postern"
        guard Files.exists(binary) else { fail("\(name): no \(binary) beside postern-bench") }
        let base = (Process.environment("TMPDIR") ?? "/tmp") + "/postern-\(name)-\(Process.id)"
        var nodes: [NodeProcess] = []
        benchCleanups.append {
            for n in nodes { n.stop() }
            try? Files.removeTree(base)
        }
        do throws(SystemError) {
            for (i, role) in roles.enumerated() {
                let n = try NodeProcess(binary: binary, name: "\(role)\(i)", directory: base + "/node\(i)", host: "127.0.0.\(i + 2)")
                nodes.append(n)
                let bootstrap = i == 0 ? "" : nodes[0].peerLine(port: nodes[0].logged("listening on port ") ?? 0)
                try n.start(role: role, bootstrap: bootstrap, epochSeconds: 3600)
            }
        } catch { fail("\(name): cannot start the nodes: \(error.description)") }
        let loop: EventLoop
        do throws(SystemError) { loop = try EventLoop() } catch { fail("\(name): \(error.description)") }
        let formed = Clock.monotonicNanoseconds() &+ 30_000_000_000
        while nodes.contains(where: { Int($0.metrics(loop)?["postern_view_descriptors"] ?? -1) < roles.count }) {
            if Clock.monotonicNanoseconds() > formed { fail("\(name): the nodes did not learn each other in 30 s") }
            Clock.sleep(nanoseconds: 100_000_000)
        }
        return (nodes, loop, base)
    }

    static func stop(_ nodes: [NodeProcess], _ base: String) {
        for n in nodes { n.stop() }
        try? Files.removeTree(base)
    }

    /// A client's view of the network, learned from `gateway`.
    static func clientNetwork(_ gateway: NodeProcess, _ loop: EventLoop, _ name: String) -> ClientNetwork {
        guard let port = gateway.logged("clients on "), let peer = Peer(gateway.peerLine(port: port)) else { fail("\(name): no client port") }
        let network = ClientNetwork(parameters: NetworkParameters(epochSeconds: 3600, layers: 3), bootstrap: peer)
        guard network.refreshNow(loop: loop, seconds: 10) != nil, network.isRoutable else { fail("\(name): no routable map") }
        return network
    }
}
