import CSystem

/// Logging to stderr. Under journald (JOURNAL_STREAM set by systemd) each line carries a syslog priority
/// prefix (`<3>` error … `<7>` debug) so the journal records its level (and its own timestamp);
/// elsewhere a line starts with the time (RFC 3339, UTC) and a word says the level.
public enum Log {
    public enum Level: Int { case error = 3, warning = 4, info = 6, debug = 7 }
    nonisolated(unsafe) public static var threshold: Level = .info
    nonisolated(unsafe) static var journald: Bool? = nil

    public static func parse(_ name: String) -> Level? {
        switch name {
        case "error": .error
        case "warning": .warning
        case "info": .info
        case "debug": .debug
        default: nil
        }
    }

    public static func write(_ level: Level, _ message: String) {
        guard level.rawValue <= threshold.rawValue else { return }
        if journald == nil { journald = Process.environment("JOURNAL_STREAM") != nil }
        if journald == true {
            Terminal.error("<\(level.rawValue)>" + message)
        } else {
            let word = level == .error ? "error: " : level == .warning ? "warning: " : level == .debug ? "debug: " : ""
            Terminal.error(Format.rfc3339(Clock.wallSeconds()) + " " + word + message)
        }
    }

    public static func error(_ m: String) { write(.error, m) }
    public static func warning(_ m: String) { write(.warning, m) }
    public static func info(_ m: String) { write(.info, m) }
    public static func debug(_ m: String) { write(.debug, m) }
}

/// systemd integration: readiness and watchdog notifications (no-ops outside systemd).
public enum Systemd {
    public static func notify(_ message: String) { _ = message.withCString { psys_sd_notify($0) } }

    /// Watchdog interval requested by the unit (WatchdogSec), in nanoseconds, if any.
    public static var watchdogNanoseconds: UInt64? {
        guard let text = Process.environment("WATCHDOG_USEC"), let usec = UInt64(text), usec > 0 else { return nil }
        return usec * 1000
    }
}
