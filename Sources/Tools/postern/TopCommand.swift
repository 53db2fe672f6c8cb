import CSystem
import PosternNode
import PosternSystem

/// `postern top`: a running node, live, from its metrics endpoint (like Tor's Nyx): rates with a short
/// history, the queue, drops by reason, links, clients, the mailbox and its fill, relay loops, the cover
/// budget, the epoch. Redrawn in place every interval, 80×24, `q` quits.
enum TopCommand {
    static let usage = """
    usage: postern top [--metrics HOST:PORT | --config FILE] [--interval SECONDS] [--once]
    Shows a running node from its metrics endpoint: the node's config (--config, its metrics.listen) or the
    address itself. Redraws every --interval seconds (default 2; fractions allowed) until q or Ctrl-C;
    --once prints one view (rates over one interval) and exits, for scripts.
    example: postern top --config /etc/postern/postern.toml
    """

    typealias Sample = MetricsScrape.Sample

    static func run(_ args: [String]) -> Int32 {
        guard let o = CLI.options(args, ["--metrics", "--config", "--interval"], flags: ["--once"], usage: usage) else { return 2 }
        var address = o["--metrics"]
        if address == nil, let path = o["--config"] {
            guard let config = NodeCommand.loadConfig(path) else { return 1 }
            guard !config.metricsListen.isEmpty else { return CLI.fail("\(path) sets no metrics.listen: the node has no metrics endpoint") }
            address = config.metricsListen
        }
        guard let address else { return CLI.usageError("give --metrics HOST:PORT or --config FILE") }
        guard let (host, port) = TCP.parse(address) else { return CLI.usageError("--metrics wants HOST:PORT, not '\(address)'") }
        guard let interval = Format.decimal(o["--interval"] ?? "2"), interval >= 0.1, interval <= 3600 else {
            return CLI.usageError("--interval must be 0.1…3600 seconds")
        }
        let loop: EventLoop
        do { loop = try EventLoop() } catch { return CLI.fail(error.description) }
        var view = View(address: address, interval: interval)

        if o["--once"] != nil {
            guard let first = MetricsScrape.fetch(loop, host, port) else { return CLI.fail("no answer from \(address)'s metrics endpoint ") }
            view.add(first, at: EventLoop.now())
            loop.run(until: EventLoop.now() &+ UInt64(interval * 1e9))
            guard let second = MetricsScrape.fetch(loop, host, port) else { return CLI.fail("no answer from \(address)'s metrics endpoint") }
            view.add(second, at: EventLoop.now())
            Terminal.out(view.render(width: 80).joined(separator: "\n") + "\n")
            return 0
        }

        let interactive = Terminal.inputIsTerminal
        var quit = false
        if interactive {
            Terminal.singleKeys(true)
            do {
                var key = [UInt8](repeating: 0, count: 1)
                try loop.watch(.standardInput, events: EventLoop.readable) { _ in
                    do throws(SystemError) {
                        let n = try withMutableBytes(&key) { (b) throws(SystemError) in try TCP.read(.standardInput, b.baseAddress!, 1) }
                        guard let n else { return }   // nothing after all
                        if n == 0 || key[0] == UInt8(ascii: "q") || key[0] == UInt8(ascii: "Q") { quit = true }   // q, or the end of input
                    } catch { quit = true }
                }
            } catch { Terminal.singleKeys(false); return CLI.fail(error.description) }
        }
        defer {
            if interactive { loop.unwatch(.standardInput); Terminal.singleKeys(false) }
            Terminal.out("\u{1b}[?25h")   // the cursor back
        }
        _ = psys_install_stop_signals()   // Ctrl-C ends the loop, and the terminal is restored
        Terminal.out("\u{1b}[?25l")
        var failures = 0
        while !quit && !ClientContext.interrupted {
            if let sample = MetricsScrape.fetch(loop, host, port) {
                failures = 0
                view.add(sample, at: EventLoop.now())
                Terminal.out("\u{1b}[H\u{1b}[2J" + view.render(width: 80).joined(separator: "\r\n") + "\r\n")
            } else {
                failures += 1
                Terminal.out("\u{1b}[H\u{1b}[2Jpostern top: no answer from \(address) (\(failures) tries); q quits\r\n")
            }
            Terminal.flush()
            loop.run(until: EventLoop.now() &+ UInt64(interval * 1e9), stopWhen: { quit || ClientContext.interrupted })
        }
        return 0
    }

    /// What the screen shows, from the samples so far (rates need two).
    struct View {
        let address: String
        let interval: Double
        var previous: (Sample, UInt64)?
        var current: (Sample, UInt64)?
        /// Packets in per second, the last 60 intervals.
        var history: [Double] = []

        init(address: String, interval: Double) {
            self.address = address
            self.interval = interval
        }

        mutating func add(_ s: Sample, at t: UInt64) {
            previous = current
            current = (s, t)
            if let r = rate("postern_packets_in_total") {
                history.append(r)
                if history.count > 60 { history.removeFirst(history.count - 60) }
            }
        }

        func value(_ name: String) -> Double? { current?.0[name] }

        /// Per second between the last two samples.
        func rate(_ name: String) -> Double? {
            guard let (a, ta) = previous, let (b, tb) = current, let x = a[name], let y = b[name], tb > ta else { return nil }
            return max(0, y - x) / (Double(tb - ta) / 1e9)
        }

        /// Every labelled series of `name`: (label value, value), e.g. drops by reason.
        func series(_ name: String) -> [(String, Double)] {
            guard let s = current?.0 else { return [] }
            return s.compactMap { key, v -> (String, Double)? in
                guard key.hasPrefix(name + "{"), let quote = key.firstIndex(of: "\"") else { return nil }
                let rest = key[key.index(after: quote)...]
                guard let end = rest.firstIndex(of: "\"") else { return nil }
                return (String(rest[..<end]), v)
            }.sorted { $0.0 < $1.0 }
        }

        /// 1234567 → "1 234 567".
        static func grouped(_ n: Int) -> String {
            let digits = Array(String(n.magnitude))
            var out = ""
            for (i, d) in digits.enumerated() {
                if i > 0 && (digits.count - i) % 3 == 0 { out.append(" ") }
                out.append(d)
            }
            return (n < 0 ? "-" : "") + out
        }

        static func count(_ v: Double?) -> String { v.map { grouped(Int($0)) } ?? "–" }
        static func perSecond(_ v: Double?) -> String { v.map { Format.fixed($0, 1) + "/s" } ?? "…" }
        static func mib(_ v: Double) -> String { Format.fixed(v / 1_048_576, 1) + " MiB" }

        func sparkline(_ width: Int) -> String {
            let bars: [String] = ["▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"]
            let points = history.suffix(width)
            let top = max(points.max() ?? 0, 1)
            return points.map { bars[min(7, Int($0 / top * 7.999))] }.joined()
        }

        func render(width: Int) -> [String] {
            var lines: [String] = []
            func clip(_ s: String) -> String { s.count > width ? String(s.prefix(width - 1)) + "…" : s }
            var head = "postern top · \(address)"
            if let e = value("postern_epoch") {
                head += " · epoch \(Int(e))"
                if let left = value("postern_epoch_seconds_left") { head += " (next in \(Int(left) / 60)m\(Int(left) % 60)s)" }
            }
            lines.append(clip(head))
            lines.append(clip("packets   in \(Self.perSecond(rate("postern_packets_in_total")))  out \(Self.perSecond(rate("postern_packets_out_total")))"
                              + "  delivered \(Self.perSecond(rate("postern_packets_delivered_total{kind=\"message\"}")))"
                              + "  queued \(Self.count(value("postern_queue_depth")))"))
            let peak = history.max() ?? 0
            lines.append(clip("in/s      " + sparkline(60) + (history.isEmpty ? "" : "  peak " + Format.fixed(peak, 1))))
            let drops = series("postern_packets_dropped_total").filter { $0.1 > 0 }
            lines.append(clip("drops     " + (drops.isEmpty ? "none" : drops.map { "\($0.0) \(Self.grouped(Int($0.1)))" }.joined(separator: " · "))))
            let closed = series("postern_clients_closed_total").filter { $0.1 > 0 }.map { "\($0.0) \(Int($0.1))" }.joined(separator: " ")
            lines.append(clip("links     up \(Self.count(value("postern_links_up")))   clients \(Self.count(value("postern_clients_connected")))"
                              + (closed.isEmpty ? "" : " (closed: \(closed))")
                              + "   view \(Self.count(value("postern_view_descriptors"))) nodes"))
            if let messages = value("postern_mailbox_messages") {
                var line = "mailbox   \(Self.count(messages)) messages, \(Self.mib(value("postern_mailbox_bytes") ?? 0))"
                if let cap = value("postern_mailbox_byte_cap"), cap > 0 {
                    line += " of \(Self.mib(cap)) (\(Int((value("postern_mailbox_bytes") ?? 0) / cap * 100))%)"
                }
                lines.append(clip(line))
            } else {
                lines.append("mailbox   none (a mix)")
            }
            let loops = Dictionary(uniqueKeysWithValues: series("postern_relay_loops_total"))
            lines.append(clip("loops     sent \(Self.count(loops["sent"]))  returned \(Self.count(loops["returned"]))  lost \(Self.count(loops["lost"]))"))
            if let spent = value("postern_cover_bytes_today") {
                let budget = value("postern_cover_bytes_per_day") ?? 0
                lines.append(clip("cover     \(Self.mib(spent)) of \(Self.mib(budget)) today"))
            } else {
                lines.append("cover     relay loops off")
            }
            lines.append(clip("keys      \(Self.count(value("postern_packet_key_epochs"))) epochs held · replay filters "
                              + Self.mib(value("postern_replay_filter_bytes") ?? 0)))
            lines.append("")
            lines.append(clip("every \(Format.fixed(interval, 1)) s · q quits"))
            return lines
        }
    }
}
