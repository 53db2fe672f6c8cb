import PosternClient
import PosternCover
import PosternSystem

/// `postern simulate anonymity`: sender entropy, latency and client bandwidth of the latency modes, from
/// the discrete-event simulation of the real scheduler, route and delay code (`AnonymitySimulation`,
/// docs/ANONYMITY.md).
extension SimulateCommand {
    static let anonymityUsage = """
    usage: postern simulate anonymity [--mode fast|strong|metered|custom] [--delay-ms D] [--cover-per-minute C]
                                      [--clients N] [--layers L] [--mixes-per-layer W] [--gateways G]
                                      [--minutes M] [--targets T] [--seed S] [--sweep] [--svg FILE] [--json]
    Simulates N clients (200) sending through L mix layers (3) of W mixes (4) and G gateways (4) for M
    minutes (30, the first 5 a warm-up), each client running the cover schedule of the mode and writing 6
    messages an hour; follows T target messages (200) as a global passive observer would. One line per run
    (JSON lines with --json): entropy in bits after the entry gateway and each layer (the last is end to
    end), latency percentiles from writing to the recipient's fetch, uplink bytes per client per day.
    Without --mode both named modes run. --delay-ms and --cover-per-minute (all streams, split as the
    mode splits them) change the mode's values (custom starts from fast). --sweep: both modes, then the
    delay (25…1600 ms) and the packet rate (¼…4× fast's, budget unlimited) swept at fast's other
    values; --svg FILE writes the plot of the sweep. Deterministic for a seed (1).
    example: postern simulate anonymity --sweep --svg anonymity.svg --json
    """

    static func anonymity(_ args: [String]) -> Int32 {
        guard let o = CLI.options(args, ["--mode", "--delay-ms", "--cover-per-minute", "--clients", "--layers", "--mixes-per-layer",
                                         "--gateways", "--minutes", "--targets", "--seed", "--svg"],
                                  flags: ["--sweep", "--json"], usage: anonymityUsage) else { return 2 }
        func whole(_ name: String, _ fallback: Int, _ range: ClosedRange<Int>) -> Int? { wholeOption(o[name], fallback, range) }
        let clients = whole("--clients", 200, 2...100_000), layers = whole("--layers", 3, 1...8)
        let width = whole("--mixes-per-layer", 4, 1...1000), gateways = whole("--gateways", 4, 1...1000)
        let minutes = whole("--minutes", 30, 6...10_000), targets = whole("--targets", 200, 1...100_000)
        let delay = whole("--delay-ms", -1, 0...60_000), coverRate = whole("--cover-per-minute", -1, 1...60_000)
        let seed = UInt64(o["--seed"] ?? "1")
        guard let clients, let layers, let width, let gateways, let minutes, let targets, let delay, let coverRate, let seed else {
            return CLI.usageError("--clients 2…100000, --layers 1…8, --mixes-per-layer 1…1000, --gateways 1…1000, --minutes 6…10000, "
                                  + "--targets 1…100000, --delay-ms 0…60000, --cover-per-minute 1…60000, --seed an integer")
        }
        var modes: [LatencyMode] = [.fast, .strong]
        if let name = o["--mode"] {
            guard let m = LatencyMode(name: name) else { return CLI.usageError("--mode is fast, strong, metered or custom") }
            modes = [m]
        }
        var base = AnonymitySimulation.Config()
        base.clients = clients; base.layers = layers; base.mixesPerLayer = width; base.gateways = gateways
        base.seconds = Double(minutes * 60); base.targets = targets; base.seed = seed
        let json = o["--json"] != nil
        var failed = false
        func run(_ label: String, _ c: AnonymitySimulation.Config) -> AnonymitySimulation.Report {
            var sim = AnonymitySimulation(c)
            let r = sim.run { Terminal.error("simulate: \(label): \($0)") }
            report(label, c, r, json: json)
            if r.targetsFollowed == 0 {
                Terminal.error("postern: \(label): no target message was followed to the end (too few messages after the 5-minute warm-up): simulate longer or more clients")
                failed = true
            }
            return r
        }
        func configured(_ mode: LatencyMode) -> AnonymitySimulation.Config {
            var c = base
            c.apply(mode == .custom ? .fast : mode)
            if delay >= 0 { c.meanDelayMillis = Double(delay) }
            if coverRate > 0 { c.cover = scaled(c.cover, to: Double(coverRate) / 60) }
            return c
        }
        if !json {
            Terminal.line("\(clients) clients, \(layers) layers of \(width) mixes, \(gateways) gateways, \(minutes) simulated minutes, seed \(seed)")
        }
        var plot = AnonymityPlot()
        plot.title = "Postern sender entropy and latency: \(clients) clients, \(layers)×\(width) mixes, \(gateways) gateways, seed \(seed)"
        for mode in modes {
            let c = configured(mode)
            let r = run(mode.name, c)
            plot.modes.append((mode.name, c.meanDelayMillis, c.cover.totalRate, r))
        }
        if o["--sweep"] != nil {
            var c = configured(.fast)
            c.cover.bytesPerDay = 1 << 50   // the rate as given, never lowered by the budget
            for d in [25.0, 50, 100, 200, 400, 800, 1600] {
                var x = c
                x.meanDelayMillis = d
                plot.delaySweep.append(.init(x: d, report: run("delay \(Int(d)) ms", x)))
            }
            for factor in [0.25, 0.5, 1, 2, 4] {
                var x = c
                x.cover = scaled(c.cover, to: c.cover.totalRate * factor)
                plot.coverSweep.append(.init(x: x.cover.totalRate, report: run("rate \(Format.number(x.cover.totalRate, significant: 3))/s", x)))
            }
        }
        if let path = o["--svg"] {
            guard o["--sweep"] != nil else { return CLI.usageError("--svg plots the sweep: add --sweep") }
            do { try Files.writeAtomically(path, Array(plot.svg.utf8), mode: 0o644) } catch { return CLI.fail("\(path): \(error.description)") }
            if !json { Terminal.line("plot written to \(path)") }
        }
        return failed ? 1 : 0
    }

    /// `cover` with all streams scaled so their total is `total` packets per second.
    static func scaled(_ cover: CoverConfig, to total: Double) -> CoverConfig {
        var c = cover
        let k = total / cover.totalRate
        c.payloadRate *= k; c.loopRate *= k; c.dropRate *= k
        return c
    }

    static func report(_ label: String, _ c: AnonymitySimulation.Config, _ r: AnonymitySimulation.Report, json: Bool) {
        let f = { (x: Double) in Format.number(x, significant: 4) }
        if json {
            Terminal.line("{\"run\":" + Format.json(label) + ",\"clients\":\(c.clients),\"layers\":\(c.layers),\"mixes_per_layer\":\(c.mixesPerLayer),"
                          + "\"gateways\":\(c.gateways),\"mean_delay_ms\":\(f(c.meanDelayMillis)),\"packets_per_second\":\(f(c.cover.totalRate)),"
                          + "\"payload_per_second\":\(f(c.cover.payloadRate)),\"poll_seconds\":\(f(c.pollSeconds)),\"seconds\":\(f(c.seconds)),"
                          + "\"seed\":\(c.seed),\"entropy_bits\":[\(r.entropy.map(f).joined(separator: ","))],\"entropy_end_to_end\":\(f(r.endToEnd)),"
                          + "\"targets\":\(r.targetsFollowed),\"latency_s\":{\"p50\":\(f(r.latencyP50)),\"p90\":\(f(r.latencyP90)),"
                          + "\"p99\":\(f(r.latencyP99)),\"mean\":\(f(r.latencyMean))},\"messages\":\(r.messagesDelivered),"
                          + "\"uplink_bytes_per_client_day\":\(f(r.uplinkBytesPerClientDay)),\"fetches_per_client_day\":\(f(r.fetchesPerClientDay)),"
                          + "\"packets\":\(r.packets)}")
        } else {
            Terminal.line("\(label): delay \(f(c.meanDelayMillis)) ms/hop, \(f(c.cover.totalRate)) packets/s per client: entropy "
                          + r.entropy.map { Format.fixed($0, 2) }.joined(separator: " → ") + " bits (\(r.targetsFollowed) targets); latency median "
                          + "\(Format.fixed(r.latencyP50, 2)) s, p90 \(Format.fixed(r.latencyP90, 2)) s, p99 \(Format.fixed(r.latencyP99, 2)) s "
                          + "(\(r.messagesDelivered) messages); uplink \(Format.fixed(r.uplinkBytesPerClientDay / 1e6, 1)) MB/day per client")
        }
    }
}
