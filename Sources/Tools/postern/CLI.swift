import PosternSystem

/// Shared command-line plumbing for the `postern` subcommands: one-line failures, `--flag value`
/// options, and subcommand dispatch.
enum CLI {
    /// `text` as one shell word: as it is when it is only letters, digits and `/._-+:@=,`; else in single quotes.
    static func quoted(_ text: String) -> String {
        let safe = !text.isEmpty && text.utf8.allSatisfy { c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || "/._-+:@=,".utf8.contains(c)
        }
        if safe { return text }
        var out = "'"
        for c in text { if c == "'" { out += "'\\''" } else { out.append(c) } }
        return out + "'"
    }

    /// Exit statuses, one convention for every command (docs/CLIENT.md): 0 done; 1 failed; 2 the command
    /// line was wrong (nothing was done); 75 temporary (the network is unreachable: what was asked is
    /// kept and retried, or can be asked again).
    static let usageStatus: Int32 = 2, temporaryStatus: Int32 = 75

    static func fail(_ message: String) -> Int32 {
        Terminal.error("postern: " + message)
        return 1
    }

    /// A wrong command line: one line saying what, exit status 2.
    static func usageError(_ message: String) -> Int32 {
        Terminal.error("postern: " + message)
        return usageStatus
    }

    /// `--help` or `-h` anywhere among a command's arguments: its usage on standard output, exit 0.
    static func helpRequested(_ args: [String], _ usage: String) {
        guard args.contains("--help") || args.contains("-h") else { return }
        Terminal.line(usage)
        Process.exit(0)
    }

    /// Parses `--flag value` pairs (and bare `flags`); anything else prints `usage` and gives nil.
    static func options(_ args: [String], _ allowed: [String], flags: [String] = [], usage: String) -> [String: String]? {
        helpRequested(args, usage)
        var out: [String: String] = [:]
        var rest = args[...]
        while let a = rest.popFirst() {
            if flags.contains(a) { out[a] = "true"; continue }
            guard allowed.contains(a), let v = rest.popFirst() else {
                Terminal.error("postern: unknown or incomplete option '\(a)'\n\(usage)")
                return nil
            }
            out[a] = v
        }
        return out
    }

    /// For the client commands: options (the client globals plus `allowed`, each with a value; bare
    /// `flags`) and positional words, in any order; an unknown option prints `usage` and gives nil.
    static func parse(_ args: [String], _ allowed: [String], flags: [String] = [], usage: String) -> ([String: String], [String])? {
        helpRequested(args, usage)
        var options: [String: String] = [:], words: [String] = []
        var rest = args[...]
        while let a = rest.popFirst() {
            if flags.contains(a) { options[a] = "true"; continue }
            guard a.hasPrefix("--") else { words.append(a); continue }
            guard (ClientContext.optionNames + allowed).contains(a), let v = rest.popFirst() else {
                Terminal.error("postern: unknown or incomplete option '\(a)'\n\(usage)")
                return nil
            }
            options[a] = v
        }
        return (options, words)
    }

    /// Runs the subcommand named by the first argument, with the rest; usage errors exit 2.
    static func dispatch(_ args: [String], group: String, usage: String,
                         _ table: [(name: String, run: ([String]) -> Int32)]) -> Int32 {
        guard let sub = args.first else { Terminal.error(usage); return 2 }
        if sub == "--help" || sub == "-h" || sub == "help" {
            Terminal.line(usage)
            return 0
        }
        guard let entry = table.first(where: { $0.name == sub }) else {
            Terminal.error("postern \(group): unknown command '\(sub)'\n\(usage)")
            return 2
        }
        return entry.run(Array(args.dropFirst()))
    }
}
