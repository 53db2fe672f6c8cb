import CSystem

/// The running process: arguments, environment, exit.
public enum Process {
    /// argv as the kernel passed it, argv[0] included.
    public static var arguments: [String] {
        var result: [String] = []
        let count = psys_argc()
        result.reserveCapacity(Int(count))
        for index in 0..<count {
            if let pointer = psys_argv(index) { result.append(String(cString: pointer)) }
        }
        return result
    }

    public static func environment(_ name: String) -> String? {
        guard let value = name.withCString({ psys_getenv($0) }) else { return nil }
        return String(cString: value)
    }

    public static var id: Int32 { psys_getpid() }

    public static func isAlive(_ pid: Int32) -> Bool { psys_process_alive(pid) == 1 }

    public static func exit(_ status: Int32) -> Never {
        Terminal.flush()
        psys_exit(status)
    }
}
