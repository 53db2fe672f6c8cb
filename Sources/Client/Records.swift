/// The binary layout of profile records: fields written in a fixed order, integers little-endian,
/// byte strings and text length-prefixed (u32). Readers fail (nil) on any overrun, so a damaged record
/// is reported instead of half-read. Every record starts with a one-byte version.
struct RecordWriter {
    var bytes: [UInt8] = []

    init(version: UInt8) { bytes = [version] }

    mutating func u8(_ v: UInt8) { bytes.append(v) }
    mutating func u32(_ v: UInt32) { for i in 0..<4 { bytes.append(UInt8(truncatingIfNeeded: v >> (8 * UInt32(i)))) } }
    mutating func u64(_ v: UInt64) { for i in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: v >> (8 * UInt64(i)))) } }
    mutating func data(_ d: [UInt8]) {
        u32(UInt32(d.count))
        bytes += d
    }
    mutating func text(_ s: String) { data(Array(s.utf8)) }
}

struct RecordReader {
    let bytes: [UInt8]
    var offset = 1
    let version: UInt8?

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
        version = bytes.first
    }

    var atEnd: Bool { offset == bytes.count }

    mutating func take(_ n: Int) -> ArraySlice<UInt8>? {
        guard n >= 0, bytes.count - offset >= n else { return nil }
        defer { offset += n }
        return bytes[offset..<(offset + n)]
    }

    mutating func u8() -> UInt8? { take(1)?.first }
    mutating func u32() -> UInt32? { take(4).map { $0.reversed().reduce(UInt32(0)) { $0 << 8 | UInt32($1) } } }
    mutating func u64() -> UInt64? { take(8).map { $0.reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) } } }
    mutating func data() -> [UInt8]? {
        guard let n = u32() else { return nil }
        return take(Int(n)).map(Array.init)
    }
    mutating func text() -> String? { data().map { String(decoding: $0, as: UTF8.self) } }
}
