import Foundation
import PosternClient
import PosternCrypto
import PosternLocalNetwork
import PosternNetwork
import PosternSystem
import Testing

/// One `postern node run` process on its own loopback address, its stderr in `node.log` of its directory
/// (read for the tests' regex waits; the config is the library's `NodeProcess.config`). Started through
/// the project's posix_spawn seam (`ChildProcess`), not Foundation's Process: CI once saw this suite's
/// process trap in the runtime, and Foundation's Process has known races on Linux (swift-corelibs-foundation
/// #4740: `terminationStatus` read while `isRunning` was still true).
final class NodeProcess: @unchecked Sendable {
    let name: String
    let dir: String
    let host: String
    private var child: ChildProcess?

    init(name: String, dir: String, host: String) {
        self.name = name
        self.dir = dir
        self.host = host
    }

    /// The running process's id (nil when not running).
    var pid: Int32? { child?.pid }

    /// What the node has logged since it was last started.
    var log: String { String(decoding: (try? Files.read(dir + "/node.log")) ?? [], as: UTF8.self) }

    /// Writes the config (ports 0: the node reports what it bound) and runs the node.
    func start(role: String, bootstrap: String, epochSeconds: Int, extra: String = "") throws {
        let config = PosternLocalNetwork.NodeProcess.config(directory: dir, host: host, role: role, bootstrap: bootstrap,
                                                            epochSeconds: epochSeconds, extra: extra)
        try config.write(toFile: dir + "/postern.toml", atomically: true, encoding: .utf8)
        try? FileManager.default.removeItem(atPath: dir + "/node.log")
        child = try ChildProcess(CommandLineTests.postern, ["node", "run", "--config", dir + "/postern.toml"], logPath: dir + "/node.log")
    }

    /// The first capture of `pattern` in the log, waiting up to `seconds`.
    func wait(for pattern: String, seconds: Double = 60) -> String? {
        LogBuffer.wait(for: pattern, in: { self.log }, seconds: seconds)
    }

    /// SIGTERM, and waits for it to end (SIGKILL after 5 s).
    func stop() {
        child?.stop()
        child = nil
    }

    /// A counter from the node's metrics endpoint (HTTP on its loopback address).
    func metric(_ line: String) -> Int? {
        guard let port = wait(for: "metrics on [0-9.]+:([0-9]+)", seconds: 1).flatMap({ UInt16($0) }) else { return nil }
        // A plain blocking HTTP/1.0 request on the loopback address (the endpoint answers and closes).
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        inet_pton(AF_INET, host, &address.sin_addr)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { return nil }
        let request = Array("GET /metrics HTTP/1.0\r\n\r\n".utf8)
        _ = request.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        var data = [UInt8](), buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            data += buffer[0..<n]
        }
        let text = String(decoding: data, as: UTF8.self)
        guard let l = text.split(separator: "\n").first(where: { $0.hasPrefix(line + " ") }) else { return nil }
        return Int(l.split(separator: " ").last!)
    }
}

/// Text a Foundation process writes to a pipe, gathered as it comes (for the tests that must set a
/// child's environment or feed its stdin, which the spawn seam does not).
final class LogBuffer: @unchecked Sendable {
    private let lock = NSLock()
    private var content = ""
    var text: String { lock.withLock { content } }
    func append(_ chunk: Data) { lock.withLock { content += String(decoding: chunk, as: UTF8.self) } }

    /// The first capture of `pattern` in `text()`, waiting up to `seconds`.
    static func wait(for pattern: String, in text: () -> String, seconds: Double) -> String? {
        let regex = try! NSRegularExpression(pattern: pattern)
        let end = Date().addingTimeInterval(seconds)
        while Date() < end {
            let t = text()
            if let m = regex.firstMatch(in: t, range: NSRange(t.startIndex..., in: t)), let r = Range(m.range(at: 1), in: t) {
                return String(t[r])
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
        return nil
    }
}

/// The network living on its own, with real node processes on 127.0.0.2 … (epochs of 3 s): nodes join
/// with only a bootstrap line, rotate their packet keys, gossip their descriptors; clients learn the
/// network from their gateway. Over seven and more epoch changes two people keep messaging while a node
/// joins, one stops and one moves to another address; a restarted gateway refuses a replay.
@Suite(.serialized) struct LivingNetworkTests {
    init() { signal(SIGPIPE, SIG_IGN) }

    /// Runs `postern ARGS` to completion: its exit status and output (stdout and stderr together).
    static func run(_ args: [String]) throws -> (Int32, String) {
        let path = NSTemporaryDirectory() + "postern-run-" + UUID().uuidString + ".out"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let status = try ChildProcess.run(CommandLineTests.postern, args, outputPath: path)
        // A read that fails is an error of the test, not an empty output.
        return (status, String(decoding: try Files.read(path), as: UTF8.self))
    }

    /// Out of file descriptors (a testnet under `ulimit -n 96`, flooded with connections to its client
    /// port): the node pauses accepting instead of spinning on a listener it cannot drain, and serves
    /// clients again once connections go away.
    @Test func runningOutOfDescriptorsDoesNotSpin() throws {
        let dir = NSTemporaryDirectory() + "postern-emfile-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let p = try ChildProcess("/bin/bash", ["-c", "ulimit -n 96 && exec \"$0\" testnet --dir \"$1\" --layers 1 --gateways 1",
                                               CommandLineTests.postern, dir], logPath: dir + "/testnet.out", stdout: true)
        defer { p.stop() }
        // Bounded in time: a testnet that has not started in 120 s fails the test.
        let started = LogBuffer.wait(for: "(Running until interrupted)", in: { p.log }, seconds: 120)
        try #require(started != nil, "\(p.log)")
        let clients = try #require(p.log.split(separator: "\n").first { $0.contains("clients ") }?.split(separator: " ").last.map(String.init))
        let (host, port) = try #require(TCP.parse(clients))
        var flood: [FileDescriptor] = []
        for _ in 0..<160 { if let fd = try? TCP.connect(host, port) { flood.append(fd) } }
        Thread.sleep(forTimeInterval: 0.5)
        let before = p.cpuNanoseconds
        Thread.sleep(forTimeInterval: 2)
        let used = (Double(p.cpuNanoseconds) - Double(before)) / 1e6   // spinning would be about 2 000 ms
        #expect(p.exitStatus() == nil, "the testnet ended: \(p.log)")
        #expect(used < 600, "the node used \(used) ms of CPU in 2 s while out of descriptors")
        for fd in flood { fd.close() }
        // It serves again.
        let loop = try EventLoop()
        let config = try ClientConfig(text: try String(contentsOfFile: dir + "/client.toml", encoding: .utf8), path: dir + "/client.toml")
        let network = ClientNetwork(parameters: config.parameters, bootstrap: config.gateway)
        #expect(network.refreshNow(loop: loop, seconds: 10) != nil, "the gateway does not answer after the flood")
    }

    /// `node check` reports every problem `node run` would meet, one line each, and exits 1.
    @Test func nodeCheckNamesEachProblem() throws {
        let dir = NSTemporaryDirectory() + "postern-check-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        #expect(try Self.run(["node", "keygen", "--dir", dir]).0 == 0)
        // A wildcard listen address without advertise, and a bootstrap peer nobody answers for (port 9 on
        // a loopback address of its own: nothing listens there).
        try """
        [node]
        keys = "\(dir)/node.keys"
        data_dir = "\(dir)"
        listen = "0.0.0.0:0"
        [network]
        bootstrap = "127.0.0.11:9#\(String(repeating: "ab", count: 32))"
        """.write(toFile: dir + "/postern.toml", atomically: true, encoding: .utf8)
        let (status, out) = try Self.run(["node", "check", "--config", dir + "/postern.toml"])
        #expect(status == 1, "\(out)")
        #expect(out.contains("PROBLEM  node.listen is a wildcard address: set node.advertise"))
        #expect(out.contains("PROBLEM  bootstrap 127.0.0.11:9"))
        #expect(out.contains("ok       keys ") && out.contains("node check: 2 problems"))
        // Fixed: nothing wrong.
        try """
        [node]
        keys = "\(dir)/node.keys"
        data_dir = "\(dir)"
        listen = "127.0.0.11:0"
        """.write(toFile: dir + "/postern.toml", atomically: true, encoding: .utf8)
        let (fixed, fixedOut) = try Self.run(["node", "check", "--config", dir + "/postern.toml"])
        #expect(fixed == 0 && fixedOut.contains("node check: nothing wrong"), "\(fixedOut)")
    }

    /// A node's log as journald and as a terminal see it: under journald (JOURNAL_STREAM set) every line
    /// starts with its syslog priority, warnings with <4>, so `journalctl -p warning` shows them;
    /// elsewhere with the time (RFC 3339, UTC) and, for warnings, the word. The warning here: a
    /// version-1 key file is upgraded at start.
    @Test func nodeLogLinesCarryPriorityOrTime() throws {
        let dir = NSTemporaryDirectory() + "postern-log-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try """
        [node]
        keys = "\(dir)/node.keys"
        data_dir = "\(dir)"
        role = "mix"
        listen = "127.0.0.12:0"
        """.write(toFile: dir + "/postern.toml", atomically: true, encoding: .utf8)
        func run(journald: Bool) throws -> [String] {
            try "postern-node-keys 1\nlink \(String(repeating: "5a", count: 32))\n".write(toFile: dir + "/node.keys", atomically: true, encoding: .utf8)
            let p = Foundation.Process()
            p.executableURL = URL(fileURLWithPath: CommandLineTests.postern)
            p.arguments = ["node", "run", "--config", dir + "/postern.toml"]
            var env = ProcessInfo.processInfo.environment
            env["JOURNAL_STREAM"] = journald ? "8:12345" : nil
            p.environment = env
            let err = Pipe()
            p.standardError = err
            p.standardOutput = FileHandle.nullDevice
            let log = LogBuffer()
            err.fileHandleForReading.readabilityHandler = { h in log.append(h.availableData) }
            try p.run()
            let end = Date().addingTimeInterval(20)
            while Date() < end && !log.text.contains("listening on port") { Thread.sleep(forTimeInterval: 0.05) }
            p.terminate()
            p.waitUntilExit()
            err.fileHandleForReading.readabilityHandler = nil
            return log.text.split(separator: "\n").map(String.init)
        }
        let journal = try run(journald: true)
        #expect(journal.contains { $0.hasPrefix("<4>") && $0.contains("upgraded") }, "\(journal)")
        #expect(journal.contains { $0.hasPrefix("<6>") && $0.contains("listening on port") }, "\(journal)")
        #expect(journal.allSatisfy { $0.range(of: "^<[3-7]>", options: .regularExpression) != nil }, "\(journal)")
        let terminal = try run(journald: false)
        let stamp = "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z "
        #expect(terminal.contains { $0.range(of: stamp + "warning: .*upgraded", options: .regularExpression) != nil }, "\(terminal)")
        #expect(terminal.contains { $0.range(of: stamp + ".*listening on port", options: .regularExpression) != nil }, "\(terminal)")
        #expect(terminal.allSatisfy { $0.range(of: stamp, options: .regularExpression) != nil }, "\(terminal)")
    }

    /// `postern top` against a running node: one view with --once; on a terminal (util-linux `script`
    /// gives it one) it redraws in place until q, and leaves the terminal as it found it.
    @Test func topShowsARunningNode() throws {
        let dir = NSTemporaryDirectory() + "postern-top-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        #expect(try Self.run(["node", "keygen", "--dir", dir]).0 == 0)
        let node = NodeProcess(name: "top", dir: dir, host: "127.0.0.14")
        try node.start(role: "gateway", bootstrap: "", epochSeconds: 3600)
        defer { node.stop() }
        let port = try #require(node.wait(for: "metrics on [0-9.]+:([0-9]+)"))
        let (status, once) = try Self.run(["top", "--metrics", "127.0.0.14:\(port)", "--once", "--interval", "0.2"])
        #expect(status == 0, "\(once)")
        for fragment in ["postern top · 127.0.0.14:\(port) · epoch", "packets   in 0.0/s", "links     up 0   clients 0",
                         "mailbox   0 messages, 0.0 MiB of 192.0 MiB (0%)", "q quits"] {
            #expect(once.contains(fragment), "\(fragment): \(once)")
        }
        #expect(once.split(separator: "\n").allSatisfy { $0.count <= 80 })

        let script = "/usr/bin/script"
        try #require(FileManager.default.isExecutableFile(atPath: script))
        let p = Foundation.Process()
        p.executableURL = URL(fileURLWithPath: script)
        p.arguments = ["-qec", "\(CommandLineTests.postern) top --metrics 127.0.0.14:\(port) --interval 0.2", "/dev/null"]
        let input = Pipe(), output = Pipe()
        p.standardInput = input
        p.standardOutput = output
        p.standardError = output
        let screen = LogBuffer()
        output.fileHandleForReading.readabilityHandler = { h in screen.append(h.availableData) }
        try p.run()
        let end = Date().addingTimeInterval(15)
        while Date() < end && screen.text.components(separatedBy: "q quits").count < 3 { Thread.sleep(forTimeInterval: 0.05) }
        try input.fileHandleForWriting.write(contentsOf: Data("q".utf8))
        let quitBy = Date().addingTimeInterval(5)
        while p.isRunning && Date() < quitBy { Thread.sleep(forTimeInterval: 0.05) }
        let quitInTime = !p.isRunning
        if p.isRunning { p.terminate() }
        p.waitUntilExit()
        output.fileHandleForReading.readabilityHandler = nil
        #expect(quitInTime && p.terminationStatus == 0, "\(screen.text)")
        #expect(screen.text.components(separatedBy: "\u{1b}[H\u{1b}[2J").count >= 3, "not redrawn in place")
        #expect(screen.text.hasSuffix("\u{1b}[?25h") || screen.text.contains("\u{1b}[?25h"), "cursor not restored")
    }

    /// Processes for `roles` on 127.0.0.2, 127.0.0.3 …, each with its keys made (not started).
    static func makeNodes(_ roles: [String], root: String) throws -> [NodeProcess] {
        try roles.indices.map { i in
            let dir = root + "/node\(i)"
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            #expect(try run(["node", "keygen", "--dir", dir]).0 == 0)
            return NodeProcess(name: "node\(i)", dir: dir, host: "127.0.0.\(i + 2)")
        }
    }

    /// A node's link key, as `postern node info` prints it.
    static func linkKey(_ n: NodeProcess) throws -> String {
        let (status, out) = try run(["node", "info", "--config", n.dir + "/postern.toml"])
        #expect(status == 0, "\(out)")
        return String(try #require(out.split(separator: "\n").first { $0.hasPrefix("link-key ") }, "\(out)").dropFirst(9))
    }

    /// Starts the first five nodes (mixes 0–2, gateways 3–4): node 0 knowing nobody, the rest only it.
    /// Returns its bootstrap line and the gateways' client lines.
    static func startFive(_ nodes: [NodeProcess], roles: [String], epochSeconds: Int) throws -> (bootstrap: String, gateways: [String]) {
        try nodes[0].start(role: roles[0], bootstrap: "", epochSeconds: epochSeconds)
        let firstPort = try #require(nodes[0].wait(for: "listening on port ([0-9]+)"))
        let bootstrap = "\(nodes[0].host):\(firstPort)#\(try linkKey(nodes[0]))"
        for i in 1..<5 { try nodes[i].start(role: roles[i], bootstrap: bootstrap, epochSeconds: epochSeconds) }
        var gatewayLines: [String] = []
        for i in 3..<5 {
            let port = try #require(nodes[i].wait(for: "clients on ([0-9]+)"))
            gatewayLines.append("\(nodes[i].host):\(port)#\(try linkKey(nodes[i]))")
        }
        return (bootstrap, gatewayLines)
    }

    /// How many descriptors `n` knows once it knows `count`, or after `seconds`.
    static func viewSize(_ n: NodeProcess, reaching count: Int, seconds: Double) -> Int? {
        let end = Date().addingTimeInterval(seconds)
        while Date() < end && (n.metric("postern_view_descriptors") ?? 0) < count { Thread.sleep(forTimeInterval: 0.2) }
        return n.metric("postern_view_descriptors")
    }

    /// With hour-long epochs (gossip every 5 min at most), four nodes started one after another, each
    /// knowing only the first, all know all four within seconds: a round comes soon after the view gains
    /// a node, and the link to the bootstrap peer is not closed before it answers.
    @Test func nodesWithHourLongEpochsLearnEachOtherInSeconds() throws {
        let root = NSTemporaryDirectory() + "postern-join-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: root) }
        let roles = ["gateway", "mix", "mix", "mix"]
        let nodes = try Self.makeNodes(roles, root: root)
        defer { for n in nodes { n.stop() } }
        try nodes[0].start(role: roles[0], bootstrap: "", epochSeconds: 3600)
        let port = try #require(nodes[0].wait(for: "listening on port ([0-9]+)"))
        let bootstrap = "\(nodes[0].host):\(port)#\(try Self.linkKey(nodes[0]))"
        for i in 1..<4 {
            try nodes[i].start(role: roles[i], bootstrap: bootstrap, epochSeconds: 3600)
            _ = nodes[i].wait(for: "listening on port ([0-9]+)")
        }
        for n in nodes {
            let known = Self.viewSize(n, reaching: 4, seconds: 20)
            #expect(known == 4, "\(n.name) knows \(known ?? -1) of 4:\n\(n.log)")
        }
    }

    @Test func aNetworkOfProcessesLivesThroughEpochs() throws {
        let root = NSTemporaryDirectory() + "postern-living-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: root) }
        let epochSeconds = 3
        // Five nodes: three mixes, two gateways, each on its own loopback address; a sixth joins later.
        let roles = ["mix", "mix", "mix", "gateway", "gateway", "mix"]
        var nodes = try Self.makeNodes(roles, root: root)
        defer { for n in nodes { n.stop() } }
        // The first node knows nobody; every other one only the first.
        let (bootstrap, gatewayLines) = try Self.startFive(nodes, roles: roles, epochSeconds: epochSeconds)
        // Every node learns all five by gossip.
        for n in nodes.prefix(5) {
            let known = Self.viewSize(n, reaching: 5, seconds: 15)
            #expect(known == 5, "\(n.name) knows \(known ?? -1)")
        }

        // Two people, each reaching the network through their own gateway (no map file anywhere).
        for (who, line) in [("alice", gatewayLines[0]), ("bob", gatewayLines[1])] {
            try """
            [network]
            gateway = "\(line)"
            epoch_seconds = \(epochSeconds)
            mean_delay_ms = 5
            [client]
            resend_after_seconds = 2
            poll_seconds = 1
            """.write(toFile: root + "/\(who).toml", atomically: true, encoding: .utf8)
        }
        func cli(_ who: String, _ args: [String]) throws -> (Int32, String) {
            try Self.run(["--profile", root + "/" + who, "--config", root + "/\(who).toml", "--passphrase-file", root + "/pass"] + args)
        }
        try "secret\n".write(toFile: root + "/pass", atomically: true, encoding: .utf8)
        #expect(try cli("alice", ["profile", "new"]).0 == 0)
        #expect(try cli("bob", ["profile", "new"]).0 == 0)
        let (_, shown) = try cli("alice", ["contact", "new", "bob", "--no-qr"])
        let aliceCode = try #require(CommandLineTests.bundle(in: shown))
        let (_, added) = try cli("bob", ["contact", "add", "alice", aliceCode])
        let bobCode = try #require(CommandLineTests.bundle(in: added))
        #expect(try cli("alice", ["contact", "add", "bob", bobCode]).0 == 0)

        // Messages both ways for at least eight epochs, while the network changes under them.
        let start = Date()
        var sent: [String: [String]] = ["alice": [], "bob": []]
        var lateJoinedAt: Date?, stoppedAt: Date?, movedAt: Date?
        var deliveredAfterStop: [Int32] = []
        var i = 0
        while Date().timeIntervalSince(start) < Double(9 * epochSeconds) + 3 && i < 60 {
            let t = Date().timeIntervalSince(start)
            if lateJoinedAt == nil && t > Double(epochSeconds) {
                // A node that knows only the bootstrap line joins.
                try nodes[5].start(role: "mix", bootstrap: bootstrap, epochSeconds: epochSeconds)
                lateJoinedAt = Date()
            }
            if stoppedAt == nil && t > Double(2 * epochSeconds) {
                nodes[1].stop()   // a mix leaves (SIGTERM)
                stoppedAt = Date()
            }
            if movedAt == nil && t > Double(6 * epochSeconds) {
                // A mix comes back at another address, same identity.
                nodes[2].stop()
                let moved = NodeProcess(name: "node2-moved", dir: nodes[2].dir, host: "127.0.0.9")
                try moved.start(role: "mix", bootstrap: bootstrap, epochSeconds: epochSeconds)
                nodes[2] = moved
                movedAt = Date()
            }
            for (from, to) in [("alice", "bob"), ("bob", "alice")] {
                let text = "\(from) \(i)"
                let (status, out) = try cli(from, ["send", to, text, "--wait", "4"])
                #expect(status == 0 || status == 75, "\(out)")
                sent[from]!.append(text)
                // Between two epochs after the stop and the move: no retry should be needed.
                if let stoppedAt, movedAt == nil, Date().timeIntervalSince(stoppedAt) > Double(2 * epochSeconds) + 1 {
                    deliveredAfterStop.append(status)
                }
            }
            i += 1
        }
        // Everything arrives (retries allowed, nothing lost to rotation or churn).
        var got: [String: String] = ["alice": "", "bob": ""]
        let end = Date().addingTimeInterval(30)
        while Date() < end {
            for who in ["alice", "bob"] { got[who]! += try cli(who, ["inbox"]).1 }
            let complete = sent["alice"]!.allSatisfy { got["bob"]!.contains("alice: \($0)\n") }
                && sent["bob"]!.allSatisfy { got["alice"]!.contains("bob: \($0)\n") }
            if complete { break }
            Thread.sleep(forTimeInterval: 0.5)
        }
        for text in sent["alice"]! { #expect(got["bob"]!.contains("alice: \(text)\n"), "bob never got \(text)") }
        for text in sent["bob"]! { #expect(got["alice"]!.contains("bob: \(text)\n"), "alice never got \(text)") }
        #expect(i >= 8, "only \(i) rounds")

        // Keys rotated: each running node made a key per epoch and deleted the expired ones.
        let elapsedEpochs = Int(Date().timeIntervalSince(start)) / epochSeconds
        #expect(elapsedEpochs >= 8)
        for n in [nodes[0], nodes[3], nodes[4]] {
            #expect((n.metric("postern_packet_keys_total{event=\"deleted\"}") ?? 0) >= 6, "\(n.name)")
            #expect((n.metric("postern_packet_key_epochs") ?? 0) <= 4)
        }
        // The late node carried traffic; the moved node too, at its new address.
        #expect((nodes[5].metric("postern_packets_in_total") ?? 0) > 0, "the late node carried nothing")
        #expect((nodes[2].metric("postern_packets_in_total") ?? 0) > 0, "the moved node carried nothing at its new address")
        // Two epochs after the stopped node left, no message needed a retry: it is out of the routes.
        // (One slow acknowledgement is tolerated: on a loaded 2-core machine a send's --wait 4 can run out
        // with the route intact, as CI saw once with [75, 0, 0, 0, 0]. A route through the stopped mix
        // fails about every other message, so two or more 75s still say it was not left out.)
        #expect(deliveredAfterStop.count >= 2 && deliveredAfterStop.filter { $0 != 0 }.count <= 1, "\(deliveredAfterStop)")
        _ = movedAt

        // A replayed packet is refused by a gateway even across its restart (SIGTERM).
        let loop = try EventLoop()
        let params = NetworkParameters(epochSeconds: UInt32(epochSeconds), layers: 3)
        let network = ClientNetwork(parameters: params, bootstrap: Peer(gatewayLines[0])!)
        #expect(network.refreshNow(loop: loop, seconds: 10) != nil)
        let entry = try #require(network.topology.gateways.first { $0.linkKey == Peer(gatewayLines[0])!.linkKey })
        let other = try #require(network.topology.gateways.first { $0.id != entry.id })
        let courier = Courier(network: network, ownGateway: entry.id, meanDelayMicros: 1000)
        let packet = try courier.packet([1, 2, 3], to: .random(), at: other.id, acknowledge: false).packet
        func submit(_ gateway: NodeInfo) -> (ClientStatus, String)? {
            let client = GatewayClient(loop: loop, gateway: gateway)
            defer { client.close() }
            var result: (ClientStatus, String)?
            client.submit(packet) { result = ($0, $1) }
            let end = EventLoop.now() + 10_000_000_000
            while result == nil && EventLoop.now() < end { loop.run(until: EventLoop.now() + 10_000_000) }
            return result
        }
        #expect(submit(entry)?.0 == .ok)
        nodes[3].stop()
        try nodes[3].start(role: "gateway", bootstrap: bootstrap, epochSeconds: epochSeconds)
        let newPort = try #require(nodes[3].wait(for: "clients on ([0-9]+)"))
        var restarted = entry
        restarted.clientAddress = "\(nodes[3].host):\(newPort)"
        let again = submit(restarted)
        #expect(again?.0 == .refused && again?.1.contains("replayed") == true, "\(String(describing: again))")
    }
}
