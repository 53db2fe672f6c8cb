/// Big-endian field writer and bounds-checked reader for the network's signed records (descriptors,
/// certificates). A reader fails (nil) on any overrun, so a truncated record is refused, never half-read.
struct WireWriter {
    var bytes: [UInt8] = []

    init(capacity: Int = 256) { bytes.reserveCapacity(capacity) }

    mutating func u8(_ v: UInt8) { bytes.append(v) }
    mutating func u16(_ v: UInt16) { bytes += [UInt8(v >> 8), UInt8(v & 0xff)] }
    mutating func u32(_ v: UInt32) { for i in (0..<4).reversed() { bytes.append(UInt8(truncatingIfNeeded: v >> (8 * UInt32(i)))) } }
    mutating func u64(_ v: UInt64) { for i in (0..<8).reversed() { bytes.append(UInt8(truncatingIfNeeded: v >> (8 * UInt64(i)))) } }
    mutating func raw(_ b: [UInt8]) { bytes += b }
    /// A byte string of at most 255 bytes behind a one-byte length.
    mutating func short(_ b: [UInt8]) {
        precondition(b.count <= 255)
        u8(UInt8(b.count))
        bytes += b
    }
    /// A byte string of at most 65 535 bytes behind a two-byte length.
    mutating func long(_ b: [UInt8]) {
        precondition(b.count <= 65_535)
        u16(UInt16(b.count))
        bytes += b
    }
}

struct WireReader {
    let bytes: [UInt8]
    var offset = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var remaining: Int { bytes.count - offset }

    mutating func take(_ n: Int) -> [UInt8]? {
        guard n >= 0, remaining >= n else { return nil }
        defer { offset += n }
        return Array(bytes[offset..<(offset + n)])
    }

    mutating func u8() -> UInt8? {
        guard remaining >= 1 else { return nil }
        defer { offset += 1 }
        return bytes[offset]
    }
    mutating func u16() -> UInt16? { take(2).map { UInt16($0[0]) << 8 | UInt16($0[1]) } }
    mutating func u32() -> UInt32? { take(4).map { $0.reduce(UInt32(0)) { $0 << 8 | UInt32($1) } } }
    mutating func u64() -> UInt64? { take(8).map { $0.reduce(UInt64(0)) { $0 << 8 | UInt64($1) } } }
    mutating func short() -> [UInt8]? {
        guard let n = u8() else { return nil }
        return take(Int(n))
    }
    mutating func long() -> [UInt8]? {
        guard let n = u16() else { return nil }
        return take(Int(n))
    }
}
