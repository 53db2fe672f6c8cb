import PosternCrypto

/// Compact, versioned binary encoding of a conversation (docs/PROTOCOL.md §3.6):
///
///     "PRS" ‖ version 1 ‖ flags (bit 0 hasSend, always set; bit 1 hasRecv) ‖ window u32 ‖ maxSkip u32
///     ‖ 14 keys × 32 ‖ Ns u32 ‖ Nr u32 ‖ PN u32 ‖ skipped count u32 ‖ skipped × (address 32 ‖ header key 32
///     ‖ index u32 ‖ message key 32)                                          (integers little-endian)
///
/// It holds secrets: store it only inside the encrypted profile (or a 0600 file).
extension Conversation {
    static let magic: [UInt8] = Array("PRS".utf8)
    static let stateVersion: UInt8 = 1

    public func serialized() -> [UInt8] {
        let s = state
        var out = Self.magic + [Self.stateVersion, (s.hasSend ? 1 : 0) | (s.hasRecv ? 2 : 0)]
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { out += $0 } }
        u32(UInt32(config.window)); u32(UInt32(config.maxSkip))
        for key in [s.dhSecret, s.dhPublic, s.remoteDH, s.rootKey, s.sendChain, s.recvChain, s.sendHeader,
                    s.nextSendHeader, s.recvHeader, s.nextRecvHeader, s.sendAddress, s.nextSendAddress,
                    s.recvAddress, s.nextRecvAddress] { out += key.bytes }
        u32(s.ns); u32(s.nr); u32(s.pn)
        u32(UInt32(s.skipped.count))
        for k in s.skipped {
            out += k.address.bytes + k.headerKey.bytes
            u32(k.index)
            out += k.messageKey.bytes
        }
        return out
    }

    public convenience init(serialized bytes: [UInt8]) throws(RatchetError) {
        var reader = Reader(bytes: bytes)
        guard try reader.take(3) == Self.magic else { throw .malformed }
        let version = try reader.byte()
        guard version == Self.stateVersion else { throw .unsupportedVersion(version) }
        let flags = try reader.byte()
        let window = Int(try reader.u32()), maxSkip = Int(try reader.u32())
        // Every conversation has a sending chain from its start (flags bit 0); one without is not a state
        // this code wrote, and sending from it would trap.
        guard window >= 1, maxSkip >= window, maxSkip <= 1 << 20, flags & ~3 == 0, flags & 1 == 1 else { throw .malformed }
        let s = RatchetState()
        s.hasSend = flags & 1 != 0; s.hasRecv = flags & 2 != 0
        s.dhSecret = try reader.key(); s.dhPublic = try reader.key(); s.remoteDH = try reader.key()
        s.rootKey = try reader.key(); s.sendChain = try reader.key(); s.recvChain = try reader.key()
        s.sendHeader = try reader.key(); s.nextSendHeader = try reader.key()
        s.recvHeader = try reader.key(); s.nextRecvHeader = try reader.key()
        s.sendAddress = try reader.key(); s.nextSendAddress = try reader.key()
        s.recvAddress = try reader.key(); s.nextRecvAddress = try reader.key()
        s.ns = try reader.u32(); s.nr = try reader.u32(); s.pn = try reader.u32()
        // Counters restart at every DH step and the send counter stops at `maxCounter`; one beyond is not
        // a state this code wrote, and sending from one near 2³² would overflow (a trap). Refused as damaged.
        let most = RatchetState.maxCounter
        guard s.ns <= most, s.nr <= most, s.pn <= most else { throw .malformed }
        let count = Int(try reader.u32())
        guard count <= maxSkip, count * 100 == reader.remaining else { throw .malformed }
        for _ in 0..<count {
            let address = try reader.key(), headerKey = try reader.key()
            let index = try reader.u32()
            s.skipped.append(SkippedKey(address: address, headerKey: headerKey, index: index, messageKey: try reader.key()))
        }
        guard reader.remaining == 0 else { throw .malformed }
        self.init(state: s, config: RatchetConfig(window: window, maxSkip: maxSkip))
    }
}

/// Bounds-checked sequential reads; every overrun is `.malformed`.
struct Reader {
    let bytes: [UInt8]
    var offset = 0
    var remaining: Int { bytes.count - offset }

    mutating func take(_ n: Int) throws(RatchetError) -> [UInt8] {
        guard n >= 0, remaining >= n else { throw .malformed }
        defer { offset += n }
        return Array(bytes[offset..<(offset + n)])
    }

    mutating func byte() throws(RatchetError) -> UInt8 { try take(1)[0] }

    mutating func u32() throws(RatchetError) -> UInt32 {
        let b = try take(4)
        return UInt32(b[0]) | UInt32(b[1]) << 8 | UInt32(b[2]) << 16 | UInt32(b[3]) << 24
    }

    mutating func key() throws(RatchetError) -> Bytes32 { Bytes32(try take(32))! }
}
