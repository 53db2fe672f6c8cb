import Foundation
import PosternSystem
import Testing

/// Partial views with real processes (PROTOCOL.md §5.9): twelve `postern node run` processes on 127.0.0.2
/// … 127.0.0.13, each keeping a view and a sample of 5 (so at most 11 descriptors: fewer than the network),
/// epochs of 4 s (a round every 0.5 s). A thirteenth joins with one bootstrap line, two mixes leave and
/// one of them comes back, while two people on different gateways exchange messages. Pushes carry 8 bits
/// of proof of work.
@Suite(.serialized) struct PartialViewNetworkTests {
    static let viewSize = 5, sampleSize = 5, epochSeconds = 4, pushWork = 8

    static let extra = """
        [network]
        view_size = \(viewSize)
        sample_size = \(sampleSize)
        layer_rule = 2
        push_work = \(pushWork)
        [cover]
        relay_loops_per_hour = 3600
        """

    @Test func twelveProcessesWithPartialViewsCarryEveryMessageThroughJoinsAndLeaves() throws {
        let root = NSTemporaryDirectory() + "postern-partial-net-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: root) }
        // Nodes 0–11: gateways 3, 4 and 11, mixes the rest; node 12, a mix, joins later.
        var roles = Array(repeating: "mix", count: 13)
        for g in [3, 4, 11] { roles[g] = "gateway" }
        let nodes = try LivingNetworkTests.makeNodes(roles, root: root)
        defer { for n in nodes { n.stop() } }
        try nodes[0].start(role: roles[0], bootstrap: "", epochSeconds: Self.epochSeconds, extra: Self.extra)
        let firstPort = try #require(nodes[0].wait(for: "listening on port ([0-9]+)"))
        let bootstrap = "\(nodes[0].host):\(firstPort)#\(try LivingNetworkTests.linkKey(nodes[0]))"
        for i in 1..<12 { try nodes[i].start(role: roles[i], bootstrap: bootstrap, epochSeconds: Self.epochSeconds, extra: Self.extra) }
        var gatewayLines: [String] = []
        for i in [3, 4] {
            let port = try #require(nodes[i].wait(for: "clients on ([0-9]+)"))
            gatewayLines.append("\(nodes[i].host):\(port)#\(try LivingNetworkTests.linkKey(nodes[i]))")
        }
        // Two epochs of rounds: every node has a view.
        Thread.sleep(forTimeInterval: Double(2 * Self.epochSeconds))

        for (who, line) in [("alice", gatewayLines[0]), ("bob", gatewayLines[1])] {
            try """
            [network]
            gateway = "\(line)"
            epoch_seconds = \(Self.epochSeconds)
            layer_rule = 2
            push_work = \(Self.pushWork)
            mean_delay_ms = 5
            [client]
            resend_after_seconds = 2
            poll_seconds = 1
            """.write(toFile: root + "/\(who).toml", atomically: true, encoding: .utf8)
        }
        func cli(_ who: String, _ args: [String]) throws -> (Int32, String) {
            try LivingNetworkTests.run(["--profile", root + "/" + who, "--config", root + "/\(who).toml", "--passphrase-file", root + "/pass"] + args)
        }
        try "secret\n".write(toFile: root + "/pass", atomically: true, encoding: .utf8)
        #expect(try cli("alice", ["profile", "new"]).0 == 0)
        #expect(try cli("bob", ["profile", "new"]).0 == 0)
        let (_, shown) = try cli("alice", ["contact", "new", "bob", "--no-qr"])
        let aliceCode = try #require(CommandLineTests.bundle(in: shown))
        let (_, added) = try cli("bob", ["contact", "add", "alice", aliceCode])
        let bobCode = try #require(CommandLineTests.bundle(in: added))
        #expect(try cli("alice", ["contact", "add", "bob", bobCode]).0 == 0)

        // Messages both ways for eight epochs while nodes join, leave and return (a round at most every
        // second; bounded: 32 rounds).
        let start = Date()
        var sent: [String: [String]] = ["alice": [], "bob": []]
        var joined = false, left = false, returned = false
        var i = 0
        while Date().timeIntervalSince(start) < Double(8 * Self.epochSeconds) && i < 32 {
            let t = Date().timeIntervalSince(start)
            let roundStart = Date()
            defer { Thread.sleep(forTimeInterval: max(0, 1 - Date().timeIntervalSince(roundStart))) }
            if !joined && t > Double(Self.epochSeconds) {
                try nodes[12].start(role: "mix", bootstrap: bootstrap, epochSeconds: Self.epochSeconds, extra: Self.extra)
                joined = true
            }
            if !left && t > Double(2 * Self.epochSeconds) {
                nodes[1].stop()   // leaves for good
                nodes[6].stop()   // crashes and comes back below
                left = true
            }
            if !returned && t > Double(5 * Self.epochSeconds) {
                try nodes[6].start(role: "mix", bootstrap: bootstrap, epochSeconds: Self.epochSeconds, extra: Self.extra)
                returned = true
            }
            for (from, to) in [("alice", "bob"), ("bob", "alice")] {
                let text = "\(from) \(i)"
                let (status, out) = try cli(from, ["send", to, text, "--wait", "3"])
                #expect(status == 0 || status == 75, "\(out)")
                sent[from]!.append(text)
            }
            i += 1
        }
        #expect(joined && left && returned && i >= 6, "only \(i) rounds")

        // Everything arrives (retries allowed).
        var got: [String: String] = ["alice": "", "bob": ""]
        let end = Date().addingTimeInterval(60)
        while Date() < end {
            for who in ["alice", "bob"] {
                got[who]! += try cli(who, ["inbox"]).1
            }
            let complete = sent["alice"]!.allSatisfy { got["bob"]!.contains("alice: \($0)\n") }
                && sent["bob"]!.allSatisfy { got["alice"]!.contains("bob: \($0)\n") }
            if complete { break }
            Thread.sleep(forTimeInterval: 0.5)
        }
        for text in sent["alice"]! { #expect(got["bob"]!.contains("alice: \(text)\n"), "bob never got \(text)") }
        for text in sent["bob"]! { #expect(got["alice"]!.contains("bob: \(text)\n"), "alice never got \(text)") }

        // Views stay within bounds and smaller than the network; nobody is left unreachable: every
        // running node's relay loops come back and every running mix carried others' packets.
        let live = nodes.indices.filter { $0 != 1 }
        for k in live {
            let n = nodes[k]
            let view = n.metric("postern_sampling_members{part=\"view\"}") ?? -1
            let sample = n.metric("postern_sampling_members{part=\"sample\"}") ?? -1
            #expect((1...Self.viewSize).contains(view) && (1...Self.sampleSize).contains(sample), "\(n.name): view \(view), sample \(sample)")
            let loops = ["sent", "lost"].map { n.metric("postern_relay_loops_total{result=\"\($0)\"}") ?? -1 }
            let mixes = (1...3).map { n.metric("postern_view_mixes{layer=\"\($0)\"}") ?? -1 }
            let gateways = n.metric("postern_view_gateways") ?? -1
            #expect((n.metric("postern_relay_loops_total{result=\"returned\"}") ?? 0) > 0,
                    "\(n.name): no relay loop came back (sent, lost: \(loops); map: mixes \(mixes), gateways \(gateways))")
            if roles[k] == "mix" { #expect((n.metric("postern_packets_in_total") ?? 0) > 0, "\(n.name) carried nothing") }
            #expect((n.metric("postern_relay_loop_hops_total{from=\"sample\"}") ?? 0) > 0, "\(n.name): no relay loop hop from its sample")
            // Every push carries its proof of work (8 bits): sent, and none refused for missing or reused
            // work (a late one, `slot`, is possible on a loaded machine).
            #expect((n.metric("postern_pushes_sent_total{outcome=\"sent\"}") ?? 0) > 0, "\(n.name) sent no push")
            for why in ["work", "reused"] {
                #expect(n.metric("postern_pushes_refused_total{reason=\"\(why)\"}") == 0, "\(n.name): pushes refused (\(why))")
            }
        }
    }
}
