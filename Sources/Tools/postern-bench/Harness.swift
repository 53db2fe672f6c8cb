import CAllocCounter
import PosternSystem

/// One line of benchmark output.
///
/// A timed line's body runs its operation `n` times (the loop lives inside the body so per-iteration
/// closure overhead is not measured). A value line reports a measure that is not a time (a fraction,
/// a p-value, bytes) with its unit.
struct BenchLine {
    enum Kind {
        case timed((Int) -> Void)
        case value(() -> (Double, String))
    }

    let name: String
    let baseline: String?
    let kind: Kind
    /// Runs once before the line is measured (fills caches, creates state); not measured.
    var setup: () -> Void = {}
    /// Units of work per iteration (ns_per_op is reported per unit).
    var unitsPerIteration = 1
    /// Runs before every measured run of n iterations, with that n (e.g. to create n expired messages);
    /// neither timed nor counted for allocations.
    var prepare: ((Int) -> Void)? = nil

    static func timed(_ name: String, baseline: String? = nil, _ body: @escaping (Int) -> Void) -> BenchLine {
        BenchLine(name: name, baseline: baseline, kind: .timed(body))
    }

    static func value(_ name: String, baseline: String? = nil, _ body: @escaping () -> (Double, String)) -> BenchLine {
        BenchLine(name: name, baseline: baseline, kind: .value(body))
    }
}

struct Suite {
    let name: String
    /// Built lazily so a suite that is not selected allocates nothing and opens nothing.
    let lines: () -> [BenchLine]
}

/// The outcome of one line.
struct Measurement {
    let suite: String
    let name: String
    let baseline: String?
    var nanosecondsPerOp: Double = 0
    var allocationsPerOp: Double = 0
    var iterations = 0
    var value: Double? = nil
    var unit: String? = nil
    var ratio: Double? = nil
}

struct BenchOptions {
    var json = false
    /// Exact iteration count for every timed line (instruction counting under qemu); nil = calibrate.
    var iterations: Int? = nil
    var filter: Set<String> = []
    /// Upper bound on the whole run's measuring time.
    var seconds: Double = 20
}

/// Measures lines: calibrates the iteration count to a time slice, counts allocator calls around the
/// measured loop, and computes ratios against baselines measured earlier in the same run.
struct Runner {
    let options: BenchOptions
    let sliceNanoseconds: UInt64
    var results: [String: Measurement] = [:]
    /// Timed lines already measured, with their round size: a later line's ratio re-measures its
    /// baseline in rounds interleaved with its own.
    var timedLines: [String: (line: BenchLine, perRound: Int)] = [:]

    init(options: BenchOptions, lineCount: Int) {
        self.options = options
        let perLine = options.seconds / Double(max(lineCount, 1))
        sliceNanoseconds = UInt64(max(0.02, min(perLine * 0.8, 1.0)) * 1e9)
    }

    mutating func run(_ line: BenchLine, suite: String) -> Measurement {
        var m = Measurement(suite: suite, name: line.name, baseline: line.baseline)
        line.setup()
        switch line.kind {
        case .value(let body):
            let (value, unit) = body()
            m.value = value
            m.unit = unit
            // Against a value line's value, or a timed line's ns/op (a value in ns measured another way).
            if let b = line.baseline, let base = results[b].map({ $0.value ?? $0.nanosecondsPerOp }), base != 0 { m.ratio = value / base }
        case .timed(let body):
            // Calibrated runs are split into rounds and the fastest round is reported: on a shared machine
            // noise only ever adds time, so the minimum is the best estimate of the work's own cost.
            // `--iterations` runs exactly N iterations in one round (for instruction counting).
            let rounds = options.iterations == nil ? Runner.rounds : 1
            let perRound = options.iterations ?? max(1, calibrate(body, line.prepare) / Runner.rounds)
            var best = Double.infinity
            var allocs: UInt64 = 0
            for _ in 0..<rounds {
                let (elapsed, roundAllocs) = Runner.round(body, line.prepare, perRound)
                allocs += roundAllocs
                best = min(best, Double(elapsed) / Double(perRound))
            }
            m.iterations = perRound * rounds
            m.nanosecondsPerOp = best / Double(line.unitsPerIteration)
            m.allocationsPerOp = Double(allocs) / Double(m.iterations * line.unitsPerIteration)
            if let b = line.baseline, let base = results[b], base.value == nil, base.nanosecondsPerOp > 0 {
                m.ratio = m.nanosecondsPerOp / base.nanosecondsPerOp
                // The ratio from rounds of the baseline interleaved with rounds of this line (minimum of
                // each): a machine whose speed drifts between the two measurements (frequency, neighbours)
                // moves both alike. The line's own ns/op stays the figure above.
                if options.iterations == nil, let other = timedLines[b], case .timed(let baseBody) = other.line.kind {
                    var bestLine = best, bestBase = base.nanosecondsPerOp * Double(other.line.unitsPerIteration)
                    for _ in 0..<Runner.interleavedRounds {
                        let (b, _) = Runner.round(baseBody, other.line.prepare, other.perRound)
                        bestBase = min(bestBase, Double(b) / Double(other.perRound))
                        let (l, _) = Runner.round(body, line.prepare, perRound)
                        bestLine = min(bestLine, Double(l) / Double(perRound))
                    }
                    m.ratio = (bestLine / Double(line.unitsPerIteration)) / (bestBase / Double(other.line.unitsPerIteration))
                }
            }
            timedLines[line.name] = (line, perRound)
        }
        results[line.name] = m
        return m
    }

    static let rounds = 5
    static let interleavedRounds = 5

    /// One measured round: elapsed nanoseconds and allocator calls.
    private static func round(_ body: (Int) -> Void, _ prepare: ((Int) -> Void)?, _ n: Int) -> (UInt64, UInt64) {
        prepare?(n)
        let allocsBefore = palloc_count()
        let start = Clock.monotonicNanoseconds()
        body(n)
        let elapsed = Clock.monotonicNanoseconds() - start
        return (elapsed, palloc_count() - allocsBefore)
    }

    /// Doubles the iteration count until a run takes a tenth of the slice, then scales to the slice.
    private func calibrate(_ body: (Int) -> Void, _ prepare: ((Int) -> Void)?) -> Int {
        prepare?(1)
        body(1)  // warm-up: first-touch page faults, lazy initialisation
        var n = 1
        while true {
            prepare?(n)
            let start = Clock.monotonicNanoseconds()
            body(n)
            let elapsed = Clock.monotonicNanoseconds() - start
            if elapsed >= sliceNanoseconds / 10 || n >= 1 << 30 {
                let perOp = Double(max(elapsed, 1)) / Double(n)
                return max(1, Int(Double(sliceNanoseconds) / perOp))
            }
            n *= 2
        }
    }
}

/// Work to do when the run ends (removing scratch directories).
nonisolated(unsafe) var benchCleanups: [() -> Void] = []

/// Keeps the optimiser from deleting work whose result is otherwise unused.
@inline(never)
func blackHole(_ pointer: UnsafeRawPointer) {
    _ = pointer.load(as: UInt8.self)
}

/// A heap buffer allocated once, before any measured loop.
func bufferOf(_ count: Int, fill: UInt8 = 0) -> UnsafeMutableRawPointer {
    let p = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1), alignment: 64)
    p.initializeMemory(as: UInt8.self, repeating: fill, count: max(count, 1))
    return p
}
