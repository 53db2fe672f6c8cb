/// A small protobuf codec for exactly the messages Postern's public chats use: varint (wire type 0) and
/// length-delimited (wire type 2) fields written; 64-bit (1) and 32-bit (5) fields skipped when reading.
/// Unknown fields are skipped; truncated input, overlong varints, groups and field number 0 are
/// rejected.
public enum ProtobufError: Error, Equatable, CustomStringConvertible {
    case malformed(String)

    public var description: String {
        switch self {
        case .malformed(let why): "malformed protobuf: \(why)"
        }
    }
}

struct ProtoWriter {
    var bytes: [UInt8] = []

    mutating func varint(_ value: UInt64) {
        var v = value
        while v >= 0x80 { bytes.append(UInt8(v & 0x7f) | 0x80); v >>= 7 }
        bytes.append(UInt8(v))
    }

    mutating func uint(_ field: UInt64, _ value: UInt64) {
        guard value != 0 else { return }   // proto3: defaults are not written
        varint(field << 3)
        varint(value)
    }

    mutating func data(_ field: UInt64, _ value: [UInt8]) {
        guard !value.isEmpty else { return }
        varint(field << 3 | 2)
        varint(UInt64(value.count))
        bytes += value
    }

    mutating func string(_ field: UInt64, _ value: String) { data(field, Array(value.utf8)) }
}

struct ProtoField {
    let number: UInt64
    let varint: UInt64
    let data: [UInt8]
}

enum ProtoReader {
    static func fields(_ bytes: [UInt8]) throws(ProtobufError) -> [ProtoField] {
        var i = 0
        func varint() throws(ProtobufError) -> UInt64 {
            var value: UInt64 = 0, shift: UInt64 = 0
            while true {
                guard i < bytes.count else { throw .malformed("truncated varint") }
                let b = bytes[i]
                i += 1
                guard shift < 64 else { throw .malformed("varint too long") }
                // The tenth byte holds bit 63 only: anything more overflows 64 bits (Go's protowire
                // refuses it the same way; this used to keep the low bits and drop the rest).
                guard shift < 63 || b <= 1 else { throw .malformed("varint overflows 64 bits") }
                value |= UInt64(b & 0x7f) << shift
                if b & 0x80 == 0 { return value }
                shift += 7
            }
        }
        var out: [ProtoField] = []
        while i < bytes.count {
            let key = try varint()
            let number = key >> 3
            guard number > 0 else { throw .malformed("field number 0") }
            switch key & 7 {
            case 0:
                out.append(ProtoField(number: number, varint: try varint(), data: []))
            case 2:
                let length = try varint()
                guard length <= UInt64(bytes.count - i) else { throw .malformed("length past the end") }
                out.append(ProtoField(number: number, varint: 0, data: Array(bytes[i..<(i + Int(length))])))
                i += Int(length)
            case 1:
                guard bytes.count - i >= 8 else { throw .malformed("truncated fixed64") }
                i += 8
            case 5:
                guard bytes.count - i >= 4 else { throw .malformed("truncated fixed32") }
                i += 4
            default:
                throw .malformed("unsupported wire type \(key & 7)")
            }
        }
        return out
    }
}
