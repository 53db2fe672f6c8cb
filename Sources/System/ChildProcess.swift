import CSystem

/// A program this process started (posix_spawn through the seam): stdin and stdout on /dev/null, stderr
/// appended to a log file the parent can read while the child runs. Stopped with SIGTERM and reaped by
/// `stop`; the owner must call it (no deinit: the handle is a plain value).
public struct ChildProcess {
    public let pid: Int32
    public let logPath: String

    /// Starts `path` with `arguments` (argv[0] is `path`), its stderr (and its stdout too when `stdout` is
    /// true) appended to `logPath`.
    public init(_ path: String, _ arguments: [String], logPath: String, stdout: Bool = false) throws(SystemError) {
        // argv as C strings that live until posix_spawn returns.
        let argv = ([path] + arguments).map { strdupBytes($0) }
        defer { for p in argv { p.deallocate() } }
        var pointers: [UnsafePointer<CChar>?] = argv.map { UnsafePointer($0) }
        pointers.append(nil)
        // The child opens the log (mode 0600, appending) itself; spawning fails if it cannot.
        pid = try check(path.withCString { p in
            logPath.withCString { l in pointers.withUnsafeBufferPointer { psys_spawn(p, $0.baseAddress!, l, stdout ? 1 : 0) } }
        }, "posix_spawn")
        self.logPath = logPath
    }

    /// Runs `path` with `arguments` to its end, stdout and stderr together in `outputPath` (appended):
    /// its exit status (128 + signal when killed).
    public static func run(_ path: String, _ arguments: [String], outputPath: String) throws(SystemError) -> Int32 {
        let child = try ChildProcess(path, arguments, logPath: outputPath, stdout: true)
        let r = psys_wait(child.pid, 1)
        return r >= 0 ? r : 255
    }

    /// What the child has written to stderr so far.
    public var log: String { String(decoding: (try? Files.read(logPath)) ?? [], as: UTF8.self) }

    /// CPU time the child has used so far (user + system), nanoseconds; 0 once it is gone.
    public var cpuNanoseconds: UInt64 { psys_other_process_cpu_ns(pid) }

    /// nil while it runs; its exit status (128 + signal when killed) once it has ended (reaped).
    public func exitStatus() -> Int32? {
        let r = psys_wait(pid, 0)
        return r >= 0 ? r : (r == -1 ? nil : 255)
    }

    /// SIGTERM, then waits for it to exit (SIGKILL after `seconds`): its exit status.
    @discardableResult
    public func stop(seconds: Double = 5) -> Int32 {
        _ = psys_kill(pid, 15)
        let end = Clock.monotonicNanoseconds() &+ UInt64(seconds * 1e9)
        while Clock.monotonicNanoseconds() < end {
            if let status = exitStatus() { return status }
            Clock.sleep(nanoseconds: 10_000_000)
        }
        _ = psys_kill(pid, 9)
        let r = psys_wait(pid, 1)
        return r >= 0 ? r : 255
    }

    /// The running executable's path (/proc/self/exe), nil if unreadable.
    public static var executablePath: String? {
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = buffer.withUnsafeMutableBufferPointer { psys_executable_path($0.baseAddress!, Int32($0.count)) }
        guard n > 0 else { return nil }
        return String(decoding: buffer[0..<Int(n)].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

private func strdupBytes(_ s: String) -> UnsafeMutablePointer<CChar> {
    let utf8 = Array(s.utf8)
    let p = UnsafeMutablePointer<CChar>.allocate(capacity: utf8.count + 1)
    for (i, b) in utf8.enumerated() { p[i] = CChar(bitPattern: b) }
    p[utf8.count] = 0
    return p
}
