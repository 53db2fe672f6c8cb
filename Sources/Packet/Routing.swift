import PosternCrypto

/// What a hop does with a packet, as carried (encrypted) in its routing slot.
public enum RoutingCommand: Equatable, Sendable {
    /// Hold the packet for `delayMicros`, then send it to the node `next` names.
    case forward(next: NextHop, delayMicros: UInt32)
    /// Final hop: store the payload in the mailbox at `address`.
    case deliver(address: Bytes32)
    /// Final hop of a reply: store the still-encrypted payload at `address`, labelled with `surbID` so
    /// the SURB's creator knows which keys decrypt it.
    case deliverReply(address: Bytes32, surbID: SURBID)

    static let forwardCode: UInt8 = 1
    static let deliverCode: UInt8 = 2
    static let deliverReplyCode: UInt8 = 3

    /// The command in a decrypted routing slot (`Geometry.slotBytes`, layout on `RoutingSlot`); nil for an
    /// unknown code or non-zero reserved bytes. A packet's creator chooses these bytes and MACs them, so a
    /// relay reads them as hostile input.
    public init?(slot: UnsafeRawBufferPointer) {
        guard slot.count >= Geometry.slotBytes, let command = RoutingSlot.command(at: slot.baseAddress!) else { return nil }
        self = command
    }

    /// The slot bytes that carry this command (next epoch, α and γ zero): the inverse of `init(slot:)`.
    public func encodeSlot(into slot: UnsafeMutableRawBufferPointer) {
        precondition(slot.count >= Geometry.slotBytes)
        RoutingSlot(command: self).encode(into: slot.baseAddress!)
    }
}

/// 16 bytes naming a SURB to its creator.
public struct SURBID: Hashable, Sendable {
    public var words: (UInt64, UInt64)
    public init(words: (UInt64, UInt64)) { self.words = words }
    public static func random() -> SURBID { SURBID(words: (Random.uint64(), Random.uint64())) }
    public static func == (a: SURBID, b: SURBID) -> Bool { a.words.0 == b.words.0 && a.words.1 == b.words.1 }
    public func hash(into hasher: inout Hasher) { hasher.combine(words.0); hasher.combine(words.1) }
    public var hex: String {
        var copy = words
        return withUnsafeBytes(of: &copy) { Hex.encode($0) }
    }
}

/// One decrypted routing slot (108 bytes, packet format 3):
///
///     0      command          1   (1 forward, 2 deliver, 3 deliver-reply)
///     1      address type     1   forward: 4 IPv4, 6 IPv6, 0 none; else zero
///     2      port             2   big-endian (forward; zero with address type 0); else zero
///     4      delay µs         4   little-endian (forward)
///     8      target          32   next hop's link key (forward) or mailbox address (deliver*)
///     40     address / id    16   forward: next hop's IP (IPv4 in 40…43, zeros after; zero for type 0);
///                                 deliver-reply: SURB id; deliver: zero
///     56     next epoch       4   little-endian: the epoch key the next hop must use
///     60     next α          32   the next hop's ephemeral public key
///     92     next γ          16   the next hop's header MAC
struct RoutingSlot {
    var command: RoutingCommand
    var nextEpoch: UInt32 = 0
    var nextAlpha: Bytes32 = .zero
    var nextMAC: (UInt64, UInt64) = (0, 0)

    static let nextEpochOffset = 56
    static let nextAlphaOffset = 60
    static let nextMACOffset = 92

    func encode(into p: UnsafeMutableRawPointer) {
        p.initializeMemory(as: UInt8.self, repeating: 0, count: Geometry.slotBytes)
        switch command {
        case .forward(let next, let delay):
            p.storeBytes(of: RoutingCommand.forwardCode, as: UInt8.self)
            next.write(type: p + 1, port: p + 2, ip: p + 40)
            p.storeBytes(of: delay.littleEndian, toByteOffset: 4, as: UInt32.self)
            next.linkKey.store(to: p + 8)
        case .deliver(let address):
            p.storeBytes(of: RoutingCommand.deliverCode, as: UInt8.self)
            address.store(to: p + 8)
        case .deliverReply(let address, let id):
            p.storeBytes(of: RoutingCommand.deliverReplyCode, as: UInt8.self)
            address.store(to: p + 8)
            p.storeBytes(of: id.words.0, toByteOffset: 40, as: UInt64.self)
            p.storeBytes(of: id.words.1, toByteOffset: 48, as: UInt64.self)
        }
        p.storeBytes(of: nextEpoch.littleEndian, toByteOffset: Self.nextEpochOffset, as: UInt32.self)
        nextAlpha.store(to: p + Self.nextAlphaOffset)
        p.storeBytes(of: nextMAC.0, toByteOffset: Self.nextMACOffset, as: UInt64.self)
        p.storeBytes(of: nextMAC.1, toByteOffset: Self.nextMACOffset + 8, as: UInt64.self)
    }

    /// Parses the command; nil for an unknown code, non-zero reserved bytes or a malformed next-hop address
    /// (impossible for a packet whose MAC verified unless its creator was malformed).
    static func command(at p: UnsafeRawPointer) -> RoutingCommand? {
        let target = Bytes32(p + 8)
        let code = p.load(as: UInt8.self)
        if code == RoutingCommand.forwardCode {
            guard let next = NextHop.read(linkKey: target, type: p.load(fromByteOffset: 1, as: UInt8.self), port: p + 2, ip: p + 40)
            else { return nil }
            return .forward(next: next, delayMicros: UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 4, as: UInt32.self)))
        }
        guard p.load(fromByteOffset: 1, as: UInt8.self) == 0, p.load(fromByteOffset: 2, as: UInt8.self) == 0,
              p.load(fromByteOffset: 3, as: UInt8.self) == 0 else { return nil }
        switch code {
        case RoutingCommand.deliverCode:
            return .deliver(address: target)
        case RoutingCommand.deliverReplyCode:
            let id = SURBID(words: (p.loadUnaligned(fromByteOffset: 40, as: UInt64.self),
                                    p.loadUnaligned(fromByteOffset: 48, as: UInt64.self)))
            return .deliverReply(address: target, surbID: id)
        default:
            return nil
        }
    }
}
