import PosternSystem

/// What a profile's traffic to its gateway costs, by category (`postern usage`, docs/CLIENT.md §7):
/// every byte the client writes to and reads from the TCP connection (Noise frames with their 2-byte
/// length, handshake included); TCP/IP headers are not counted.
public enum UsageCategory: Equatable, Sendable {
    /// Cover packets: payload dummies, loops, drops.
    case cover
    /// Real messages submitted (and their SUBMIT answers).
    case messages
    /// FETCH and DELETE: messages, acknowledgements, returned loops.
    case fetches
    /// VIEW: the network's descriptors.
    case map
    /// Noise handshakes at each (re)connection.
    case handshakes

    public static let all: [UsageCategory] = [.cover, .messages, .fetches, .map, .handshakes]

    public var index: Int {
        switch self {
        case .cover: 0
        case .messages: 1
        case .fetches: 2
        case .map: 3
        case .handshakes: 4
        }
    }

    public var name: String {
        switch self {
        case .cover: "cover"
        case .messages: "messages"
        case .fetches: "fetches"
        case .map: "map"
        case .handshakes: "handshakes"
        }
    }
}

/// Bytes up (client → gateway) and down per category.
public struct UsageCounts: Equatable, Sendable {
    public var up: [Int64] = [Int64](repeating: 0, count: 5)
    public var down: [Int64] = [Int64](repeating: 0, count: 5)

    public init() {}

    public mutating func add(_ category: UsageCategory, up u: Int, down d: Int) {
        up[category.index] += Int64(u)
        down[category.index] += Int64(d)
    }

    public mutating func add(_ other: UsageCounts) {
        for i in 0..<5 { up[i] += other.up[i]; down[i] += other.down[i] }
    }

    public var total: Int64 { up.reduce(0, +) + down.reduce(0, +) }
    public var isEmpty: Bool { total == 0 }
}

/// The profile's record "usage" (176 bytes): the day (days since 1970-01-01 UTC) and month (year × 12 +
/// month − 1) it counts, then today's and this month's counts, each as up[5] ‖ down[5], every number a
/// big-endian u64 (categories in `UsageCategory.all` order).
public struct Usage: Equatable, Sendable {
    public var day: Int64
    public var month: Int64
    public var today = UsageCounts()
    public var thisMonth = UsageCounts()

    public init(day: Int64) {
        self.day = day
        month = Self.month(ofDay: day)
    }

    /// Adds `counts` spent on `day`: a new day starts today's counts again, a new month the month's.
    public mutating func add(_ counts: UsageCounts, day now: Int64) {
        let m = Self.month(ofDay: now)
        if m != month { thisMonth = UsageCounts(); month = m }
        if now != day { today = UsageCounts(); day = now }
        today.add(counts)
        thisMonth.add(counts)
    }

    public var encoded: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(176)
        func u64(_ v: Int64) { for i in (0..<8).reversed() { out.append(UInt8(truncatingIfNeeded: v >> (8 * i))) } }
        u64(day); u64(month)
        for c in [today, thisMonth] { for v in c.up { u64(v) }; for v in c.down { u64(v) } }
        return out
    }

    public init?(encoded b: [UInt8]) {
        guard b.count == 176 else { return nil }
        var at = 0
        func u64() -> Int64 {
            var v: UInt64 = 0
            for i in 0..<8 { v = v << 8 | UInt64(b[at + i]) }
            at += 8
            return Int64(bitPattern: v)
        }
        day = u64(); month = u64()
        guard day >= 0, month == Self.month(ofDay: day) else { return nil }
        for k in 0..<2 {
            var c = UsageCounts()
            for i in 0..<5 { c.up[i] = u64() }
            for i in 0..<5 { c.down[i] = u64() }
            guard c.up.allSatisfy({ $0 >= 0 }), c.down.allSatisfy({ $0 >= 0 }) else { return nil }
            if k == 0 { today = c } else { thisMonth = c }
        }
        for i in 0..<5 where today.up[i] > thisMonth.up[i] || today.down[i] > thisMonth.down[i] { return nil }
    }

    /// year × 12 + month − 1 of a day number (the proleptic Gregorian calendar, UTC).
    public static func month(ofDay day: Int64) -> Int64 {
        let (year, month, _) = Format.civil(days: day)
        return year * 12 + month - 1
    }
}
