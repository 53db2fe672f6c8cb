import PosternSystem

/// Renders measurements as JSON lines or as a readable table.
enum Report {
    /// Where the numbers come from, on every JSON line.
    nonisolated(unsafe) static let hostAndBuild: String = {
        let (cpu, cores) = Build.machine()
        return "\"host\":{\"cpu\":" + Format.json(cpu) + ",\"cores\":\(cores)},\"build\":{\"version\":\"\(Build.version)\","
            + "\"arch\":\"\(Build.architecture)\",\"embedded\":\(Build.isEmbedded)}"
    }()

    static func jsonLine(_ m: Measurement) -> String {
        var fields = ["\"suite\":\"\(m.suite)\"", "\"name\":\"\(m.name)\""]
        if let value = m.value, let unit = m.unit {
            fields.append("\"value\":\(Format.number(value))")
            fields.append("\"unit\":\"\(unit)\"")
        } else {
            fields.append("\"ns_per_op\":\(Format.number(m.nanosecondsPerOp))")
            fields.append("\"ops_per_s\":\(Format.number(1e9 / max(m.nanosecondsPerOp, 1e-9)))")
            fields.append("\"allocs_per_op\":\(Format.number(m.allocationsPerOp))")
        }
        fields.append("\"baseline\":" + (m.baseline.map { "\"\($0)\"" } ?? "null"))
        fields.append("\"ratio\":" + (m.ratio.map { Format.fixed($0, 4) } ?? "null"))
        fields.append(hostAndBuild)
        return "{" + fields.joined(separator: ",") + "}"
    }

    static func tableHeader() -> String {
        Format.pad("suite", 8, left: true) + " " + Format.pad("line", 24, left: true)
            + Format.pad("ns/op", 14) + Format.pad("ops/s", 14) + Format.pad("allocs/op", 11) + "  vs baseline"
    }

    static func tableRow(_ m: Measurement) -> String {
        var row = Format.pad(m.suite, 8, left: true) + " " + Format.pad(m.name, 24, left: true)
        if let value = m.value, let unit = m.unit {
            row += Format.pad(Format.number(value) + " " + unit, 39)
        } else {
            row += Format.pad(Format.fixed(m.nanosecondsPerOp, 1), 14)
            row += Format.pad(Format.fixed(1e9 / max(m.nanosecondsPerOp, 1e-9), 0), 14)
            row += Format.pad(Format.fixed(m.allocationsPerOp, 2), 11)
        }
        if let ratio = m.ratio, let baseline = m.baseline {
            row += "  " + Format.fixed(ratio, 3) + "× " + baseline
        }
        return row
    }
}
