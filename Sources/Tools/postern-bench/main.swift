import CAllocCounter
import PosternSystem

/// postern-bench: Postern's benchmark tool, built for and run on the boards themselves.
func usage() -> String {
    """
usage: postern-bench [SUITE ...|all] [--json] [--iterations N] [--filter NAME[,NAME...]] [--seconds S] [--list]

Suites: \(allSuites().map { $0.name }.joined(separator: ", ")) (default: all; all leaves out
\(namedOnly.sorted().joined(separator: ", ")), which run only when named: minutes of real time each).
  --json          one JSON object per line:
                  {"suite","name","ns_per_op","ops_per_s","allocs_per_op","baseline","ratio",
                   "host":{"cpu","cores"},"build":{"version","arch","embedded"}}
                  (lines that measure something other than time carry "value" and "unit" instead)
  --iterations N  run exactly N iterations of every timed line instead of calibrating, e.g. to count
                  executed instructions under qemu for N and 2N iterations
  --filter NAMES  run only the named lines (comma-separated); their baselines run only if also named
  --seconds S     bound the measuring time of the whole run (default 20; fractions allowed)
  --list          print the suites and their lines
ratio = this line's ns_per_op / the baseline line's ns_per_op, both measured in this run (a baseline in
another suite runs first when its suite was not chosen).
allocs_per_op = malloc-family calls during the measured loop / iterations (the allocator is interposed
in this binary, so calls from the Swift runtime and C libraries are counted too).
"""
}

/// Every suite, in the order `all` runs them.
func allSuites() -> [Suite] { [cryptoSuite(), packetSuite(), ratchetSuite(), mailboxSuite(), relaySuite(), processSuite(), memorySuite(), pkiSuite(), chatSuite(), coverSuite(), latencySuite(), mobileSuite()] }
/// Suites run only when named (minutes of real time each).
let namedOnly: Set<String> = ["latency", "mobile"]

func fail(_ message: String) -> Never {
    Terminal.error("postern-bench: " + message)
    Terminal.error("run 'postern-bench --help' for usage")
    Process.exit(2)
}

/// Parses the command line, runs the chosen suites and prints their lines.
func benchMain() {
    var options = BenchOptions()
    var chosen: [String] = []
    var listOnly = false
    var args = Process.arguments.dropFirst()
    while let arg = args.popFirst() {
        switch arg {
        case "--help", "-h":
            Terminal.line(usage())
            Process.exit(0)
        case "--json": options.json = true
        case "--list": listOnly = true
        case "--iterations":
            guard let text = args.popFirst(), let n = Int(text), n > 0 else { fail("--iterations needs a positive integer") }
            options.iterations = n
        case "--filter":
            guard let text = args.popFirst(), !text.isEmpty else { fail("--filter needs line names") }
            for name in text.split(separator: ",") { options.filter.insert(String(name)) }
        case "--seconds":
            guard let text = args.popFirst(), let s = Format.decimal(text), s > 0, s.isFinite else { fail("--seconds needs a positive number (fractions allowed)") }
            options.seconds = s
        default:
            if arg.hasPrefix("-") { fail("unknown option '\(arg)'") }
            guard arg == "all" || allSuites().contains(where: { $0.name == arg }) else { fail("unknown suite '\(arg)'") }
            chosen.append(arg)
        }
    }

    let suites = chosen.isEmpty || chosen.contains("all") ? allSuites().filter { !namedOnly.contains($0.name) } : allSuites().filter { chosen.contains($0.name) }
    var plan = suites.map { suite in (suite.name, suite.lines().filter { options.filter.isEmpty || options.filter.contains($0.name) }) }
    // A suite chosen on its own still gets its ratios: baselines from other suites run first (not with
    // --filter, which runs only what it names).
    if options.filter.isEmpty {
        var present = Set(plan.flatMap { $0.1.map { $0.name } })
        var missing = plan.flatMap { $0.1.compactMap { $0.baseline } }.filter { !present.contains($0) }
        var added: [(String, [BenchLine])] = []
        for suite in allSuites() where !missing.isEmpty && !plan.contains(where: { $0.0 == suite.name }) {
            guard ["crypto", "packet", "mailbox"].contains(suite.name) else { continue }   // where baselines live; cheap to list
            let lines = suite.lines().filter { missing.contains($0.name) }
            if lines.isEmpty { continue }
            added.append((suite.name, lines))
            for l in lines { present.insert(l.name) }
            missing.removeAll { present.contains($0) }
        }
        plan = added + plan
    }
    let lineCount = plan.reduce(0) { $0 + $1.1.count }

    if listOnly {
        for (suite, lines) in plan {
            for line in lines { Terminal.line("\(suite) \(line.name)" + (line.baseline.map { " (baseline \($0))" } ?? "")) }
        }
        Process.exit(0)
    }
    if lineCount == 0 { fail("no benchmark line matches --filter") }
    if palloc_is_active() == 0 { Terminal.error("postern-bench: warning: allocator not interposed; allocs_per_op is 0") }

    var runner = Runner(options: options, lineCount: lineCount)
    if !options.json { Terminal.line(Report.tableHeader()) }
    var done = 0
    for (suite, lines) in plan {
        for line in lines {
            done += 1
            Terminal.progress("[\(done)/\(lineCount)] \(suite) \(line.name)…")
            let m = runner.run(line, suite: suite)
            Terminal.clearProgress()
            Terminal.line(options.json ? Report.jsonLine(m) : Report.tableRow(m))
        }
    }
    for cleanup in benchCleanups { cleanup() }
    Terminal.flush()
}

benchMain()
