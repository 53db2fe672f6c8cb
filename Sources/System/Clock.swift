import CSystem

/// Time sources. Monotonic time measures intervals (timers, benchmarks); wall time dates TTLs and epochs.
public enum Clock {
    @inlinable public static func monotonicNanoseconds() -> UInt64 { psys_monotonic_ns() }
    @inlinable public static func wallNanoseconds() -> Int64 { psys_realtime_ns() }
    @inlinable public static func wallSeconds() -> Int64 { psys_realtime_ns() / 1_000_000_000 }
    @inlinable public static func wallMillis() -> Int64 { psys_realtime_ns() / 1_000_000 }
    /// The wall clock in seconds since 1970, with its fraction.
    @inlinable public static func wallTime() -> Double { Double(psys_realtime_ns()) / 1e9 }
    public static func sleep(nanoseconds: UInt64) { psys_sleep_ns(nanoseconds) }
    /// CPU time this process has used (user + system, all threads).
    public static func processCPUNanoseconds() -> UInt64 { psys_process_cpu_ns() }
}
