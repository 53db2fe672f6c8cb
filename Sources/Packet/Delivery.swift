import PosternCrypto

/// The message area of a packet bound for a mailbox (docs/PROTOCOL.md §2.7):
///
///     length (u16 BE; top bit set = an acknowledgement SURB follows) ‖ data (length) ‖ [SURB]
///
/// The final gateway stores `data` at the deliver address and, when a SURB is attached, answers through it
/// once the deposit is committed: the reply message is one `Delivery.Ack` byte. Only the final gateway
/// sees the SURB, and the SURB reveals nothing about its creator's route or mailbox.
public enum Delivery {
    static let ackFlag = 0x8000

    /// Acknowledgement statuses carried in the reply.
    public enum Ack: Equatable {
        case stored, refused
        public var code: UInt8 { self == .stored ? 1 : 0 }
        public init(code: UInt8) { self = code == 1 ? .stored : .refused }
    }

    /// Most data bytes one packet carries, with or without an acknowledgement SURB.
    public static func capacity(_ geometry: Geometry, ack: Bool) -> Int {
        geometry.messageBytes - 2 - (ack ? SURB.serializedBytes(geometry) : 0)
    }

    public static func encode(_ data: [UInt8], ack: SURB?, geometry: Geometry) throws(PacketError) -> [UInt8] {
        guard data.count <= capacity(geometry, ack: ack != nil) else { throw .messageTooLong }
        let field = data.count | (ack == nil ? 0 : ackFlag)
        return [UInt8(field >> 8), UInt8(field & 0xff)] + data + (ack?.serialized ?? [])
    }

    /// Splits a decrypted message area (`geometry.messageBytes` at `message`) into the data and, when
    /// present, the serialised SURB, without copying; nil if the length does not fit.
    public static func parse(_ message: UnsafeRawPointer, geometry: Geometry) -> (data: UnsafeRawBufferPointer, ack: UnsafeRawPointer?)? {
        let field = Int(message.load(as: UInt8.self)) << 8 | Int(message.load(fromByteOffset: 1, as: UInt8.self))
        let hasAck = field & ackFlag != 0
        let length = field & ~ackFlag
        guard length <= capacity(geometry, ack: hasAck) else { return nil }
        return (UnsafeRawBufferPointer(start: message + 2, count: length), hasAck ? message + 2 + length : nil)
    }
}
