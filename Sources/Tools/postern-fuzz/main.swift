import PosternCrypto
import PosternFuzz
import PosternSystem
#if POSTERN_LIBFUZZER
import CFuzzer
#endif

/// postern-fuzz: Postern's parsers under fuzzing (host only; docs/FUZZING.md).
///
///   postern-fuzz list                              the targets, one line each
///   postern-fuzz seeds DIR                         writes each target's seeds to DIR/TARGET/ (fuzz/corpus is made so)
///   postern-fuzz run TARGET FILE...                runs inputs through a target: replays a crash, checks a corpus
///   postern-fuzz fuzz TARGET [LIBFUZZER-ARGS...]   libFuzzer's loop over the target (the build of cross/fuzz only)
func fuzzMain() -> Int32 {
    let args = Array(Process.arguments.dropFirst())
    let usage = "usage: postern-fuzz list | seeds DIR | run TARGET FILE... | fuzz TARGET [libFuzzer args]"
    guard let command = args.first else { Terminal.error(usage); return 2 }
    func target(_ name: String?) -> FuzzTarget? {
        guard let name, let t = Fuzz.target(name) else {
            Terminal.error("postern-fuzz: unknown target '\(name ?? "")' (postern-fuzz list)")
            return nil
        }
        return t
    }
    switch command {
    case "list":
        for t in Fuzz.targets { Terminal.line(t.name + "\t" + t.summary) }
        return 0
    case "seeds":
        guard args.count == 2 else { Terminal.error(usage); return 2 }
        for t in Fuzz.targets {
            let dir = args[1] + "/" + t.name
            let seeds = t.seeds()
            do {
                try Files.makeDirectories(dir, mode: 0o755)
                for s in seeds { try Files.writeAtomically(dir + "/seed-" + Hex.encode(BLAKE2b.hash(s, outputCount: 8)), s, mode: 0o644) }
            } catch {
                Terminal.error("postern-fuzz: \(dir): \(error.description)")
                return 1
            }
            Terminal.line("\(t.name): \(seeds.count) seeds")
        }
        return 0
    case "run":
        guard let t = target(args.count > 1 ? args[1] : nil) else { return 2 }
        var count = 0
        for path in args.dropFirst(2) {
            guard let bytes = try? Files.read(path, limit: 1 << 20) else {
                Terminal.error("postern-fuzz: cannot read \(path)")
                return 1
            }
            t.run(bytes)
            count += 1
        }
        Terminal.line("\(t.name): \(count) inputs, no finding")
        return 0
    case "fuzz":
        guard let t = target(args.count > 1 ? args[1] : nil) else { return 2 }
        #if POSTERN_LIBFUZZER
        return runLibFuzzer(t, Array(args.dropFirst(2)))
        #else
        _ = t
        Terminal.error("postern-fuzz: this build has no libFuzzer; use cross/fuzz \(args[1]) SECONDS")
        return 2
        #endif
    default:
        Terminal.error(usage)
        return 2
    }
}

#if POSTERN_LIBFUZZER
nonisolated(unsafe) var selected: FuzzTarget?

/// Hands the loop to libFuzzer with its arguments (argv[0] first); every input goes to `selected`.
func runLibFuzzer(_ t: FuzzTarget, _ arguments: [String]) -> Int32 {
    selected = t
    _ = t.seeds   // (made lazily, on first use)
    var cStrings: [UnsafeMutablePointer<CChar>?] = ([Process.arguments[0]] + arguments).map { a in
        let utf8 = Array(a.utf8CString)
        let p = UnsafeMutablePointer<CChar>.allocate(capacity: utf8.count)
        p.initialize(from: utf8, count: utf8.count)
        return p
    }
    cStrings.append(nil)
    var argc = Int32(arguments.count + 1)
    return cStrings.withUnsafeMutableBufferPointer { buffer in
        var argv = buffer.baseAddress
        return LLVMFuzzerRunDriver(&argc, &argv) { data, size in
            selected!.run(size == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: size)))
            return 0
        }
    }
}
#endif

Process.exit(fuzzMain())
