import PosternCrypto

/// The sizes every packet in one network shares: a network parameter, published with the topology.
///
/// Header = epoch (4) ‖ α (32) ‖ γ (16) ‖ β (maxHops × slot). β holds one routing slot per hop; a route
/// shorter than `maxHops` leaves pseudorandom filler in the rest, so no hop learns its position.
public struct Geometry: Equatable, Sendable {
    /// Longest route a packet can take (also the number of slots in β).
    public let maxHops: Int
    /// Bytes of payload after the header, including the 16-byte zero prefix that detects tagging.
    public let payloadBytes: Int

    public static let slotBytes = 108
    public static let epochBytes = 4
    public static let alphaBytes = 32
    public static let macBytes = 16
    /// Bytes at the start of every plaintext payload that must be zero; a modified payload fails this.
    public static let zeroPrefixBytes = 16
    /// Smallest payload allowed: the 16-byte zero prefix and at least 48 bytes of message (Adiantum itself
    /// needs 16 bytes).
    public static let minimumPayloadBytes = 64

    /// Postern's default: five hops, 2 KiB payload, 2 612-byte packets.
    public static let standard = Geometry(maxHops: 5, payloadBytes: 2048)

    public init(maxHops: Int, payloadBytes: Int) {
        precondition(maxHops >= 1 && maxHops <= 16, "maxHops must be 1…16")
        precondition(payloadBytes >= Self.minimumPayloadBytes, "payload must be at least 64 bytes")
        self.maxHops = maxHops
        self.payloadBytes = payloadBytes
    }

    /// Bytes of β, the encrypted routing area.
    public var betaBytes: Int { maxHops * Self.slotBytes }
    /// Offsets inside the header.
    public static let alphaOffset = epochBytes
    public static let macOffset = epochBytes + alphaBytes
    public static let betaOffset = epochBytes + alphaBytes + macBytes
    public var headerBytes: Int { Self.betaOffset + betaBytes }
    public var packetBytes: Int { headerBytes + payloadBytes }
    /// Bytes of application data a payload carries.
    public var messageBytes: Int { payloadBytes - Self.zeroPrefixBytes }
}
