/// What this binary is: Postern's version, the architecture and whether it is the Embedded build, and
/// the machine it runs on (for reports that must say where a number came from).
public enum Build {
    public static let version = "0.1.0"

    public static var architecture: String {
        #if arch(x86_64)
        "x86_64"
        #elseif arch(arm64)
        "aarch64"
        #elseif arch(arm)
        "armv7"
        #else
        "other"
        #endif
    }

    public static var isEmbedded: Bool {
        #if hasFeature(Embedded)
        true
        #else
        false
        #endif
    }

    /// The CPU model and the number of processors, from /proc/cpuinfo ("unknown", 0 where it says nothing).
    public static func machine() -> (cpu: String, cores: Int) {
        guard let bytes = try? Files.read("/proc/cpuinfo", limit: 1 << 20) else { return ("unknown", 0) }
        var cpu: String?, part: String?, hardware: String?, cores = 0
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") {
            let pair = line.split(separator: ":", maxSplits: 1)
            guard pair.count == 2 else { continue }
            var key = Substring(pair[0]), value = Substring(pair[1])
            while key.last == " " || key.last == "\t" { key.removeLast() }
            while value.first == " " { value.removeFirst() }
            switch key {
            case "processor": cores += 1
            case "model name": if cpu == nil { cpu = String(value) }
            case "Model": hardware = String(value)        // Raspberry Pi kernels: "Raspberry Pi 4 Model B Rev 1.4"
            case "CPU part": if part == nil { part = "CPU part " + value }
            default: break
            }
        }
        return (cpu ?? hardware ?? part ?? "unknown", cores)
    }
}
