import PosternClient
import PosternCover
import PosternSystem

/// `postern usage`: the bytes this profile moved to and from its gateway today and this month, by
/// category, against the daily budget (docs/CLIENT.md §7).
enum UsageCommand {
    static let usage = """
    usage: postern usage [--json]
    Bytes to and from your gateway today and this month (UTC), by category: cover (dummies, loops, drops),
    messages, fetches (messages, acknowledgements, returned loops), map (the network's descriptors) and
    handshakes; every byte of the connection counted, TCP/IP headers not. Against cover.bytes_per_day_mb
    from client.toml (a month's budget is 30 days'); today the budget lowers the cover streams only.
    --json: one object (bytes).
    """

    static func run(_ args: [String]) -> Int32 {
        guard let (o, words) = CLI.parse(args, [], flags: ["--json"], usage: usage), words.isEmpty else { Terminal.error(usage); return 2 }
        let ctx = ClientContext(o)
        guard let config = ctx.config(), let profile = ctx.openProfile() else { return 1 }
        defer { profile.close() }
        let now = Clock.wallSeconds()
        var u: Usage
        do { u = try profile.usage() ?? Usage(day: now / 86_400) } catch { return CLI.fail(error.description) }
        u.add(UsageCounts(), day: now / 86_400)   // a record of an earlier day or month shows today's as zero
        let budget = (config.cover ?? CoverConfig()).bytesPerDay
        let day = String(Format.utc(now).prefix(10)), month = String(day.prefix(7))
        if o["--json"] != nil {
            func counts(_ c: UsageCounts) -> String {
                func side(_ v: [Int64]) -> String { "{" + UsageCategory.all.map { "\"\($0.name)\":\(v[$0.index])" }.joined(separator: ",") + "}" }
                return "{\"total\":\(c.total),\"up\":\(side(c.up)),\"down\":\(side(c.down))}"
            }
            Terminal.line("{\"day\":\"\(day)\",\"month\":\"\(month)\",\"budget_bytes_per_day\":\(budget),"
                          + "\"today\":\(counts(u.today)),\"this_month\":\(counts(u.thisMonth))}")
            return 0
        }
        func table(_ title: String, _ c: UsageCounts, of limit: Int64) {
            Terminal.line("\(title): \(mebibytes(c.total)) of \(mebibytes(limit)) (\(Format.fixed(Double(c.total) / Double(limit) * 100, 1))%)")
            Terminal.line("  " + Format.pad("", 12) + Format.pad("up", 12, left: true) + Format.pad("down", 12, left: true))
            for k in UsageCategory.all {
                Terminal.line("  " + Format.pad(k.name, 12) + Format.pad(mebibytes(c.up[k.index]), 12, left: true)
                              + Format.pad(mebibytes(c.down[k.index]), 12, left: true))
            }
        }
        table("today, \(day)", u.today, of: budget)
        table("this month, \(month)", u.thisMonth, of: budget * 30)
        return 0
    }

    /// "12.3 MiB" (binary megabytes, as `bytes_per_day_mb` counts them).
    static func mebibytes(_ bytes: Int64) -> String {
        Format.fixed(Double(bytes) / 1_048_576, bytes < 10_485_760 ? 2 : 1) + " MiB"
    }
}
