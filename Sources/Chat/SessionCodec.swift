/// The byte layouts of the session formats (docs/CHAT.md, "Sessions"): big-endian u16/u32 and text as
/// u16 BE length ‖ UTF-8. One reader and one writer for reveal and link statements, queries and the
/// session book, so every parser checks bounds the same way.
struct SessionReader {
    let bytes: [UInt8]
    private(set) var offset = 0
    /// Names the format in errors ("reveal statement is truncated").
    let what: String

    init(_ bytes: [UInt8], what: String) {
        self.bytes = bytes
        self.what = what
    }

    var atEnd: Bool { offset == bytes.count }
    /// Everything read so far (what a statement's signatures cover).
    var consumed: [UInt8] { Array(bytes[..<offset]) }

    /// Reads `prefix` if the bytes start with it.
    mutating func skip(prefix: [UInt8]) -> Bool {
        guard bytes.starts(with: prefix) else { return false }
        offset = prefix.count
        return true
    }

    mutating func take(_ n: Int) throws(ChatError) -> [UInt8] {
        guard n >= 0, bytes.count - offset >= n else { throw .malformed("\(what) is truncated") }
        defer { offset += n }
        return Array(bytes[offset..<(offset + n)])
    }

    mutating func u16() throws(ChatError) -> Int {
        let b = try take(2)
        return Int(b[0]) << 8 | Int(b[1])
    }

    mutating func u32() throws(ChatError) -> UInt32 {
        try take(4).reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
    }

    mutating func text() throws(ChatError) -> String {
        guard let s = String(validating: try take(try u16()), as: UTF8.self) else { throw .malformed("\(what) holds text that is not UTF-8") }
        return s
    }

    func end() throws(ChatError) {
        guard atEnd else { throw .malformed("\(what) has trailing bytes") }
    }
}

enum SessionWriter {
    static func u16(_ v: Int) -> [UInt8] { [UInt8(v >> 8 & 0xff), UInt8(v & 0xff)] }
    static func u32(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 0xff), UInt8(v >> 8 & 0xff), UInt8(v & 0xff)] }
    static func text(_ s: String) -> [UInt8] { u16(s.utf8.count) + Array(s.utf8) }
}
