/// Why a packet was refused. Every refusal is counted by reason (`PacketStats`); none crashes and none
/// leaves a partially processed packet to be forwarded.
public enum PacketError: Error, Equatable, CustomStringConvertible {
    /// The buffer is not exactly one packet long (truncated or oversize).
    case wrongSize
    /// No key for the packet's epoch: expired, not yet valid, or garbage.
    case unknownEpoch
    /// The header MAC did not verify: garbled, tagged, or not meant for this node.
    case badMAC
    /// This packet (same per-hop secret) was processed before in this epoch (or, rarely, a fresh packet
    /// the epoch's replay filter takes for one: `ReplayCache`).
    case replayed
    /// α was a low-order point.
    case weakKey
    /// The routing slot holds no valid command.
    case badCommand
    /// The payload's zero prefix did not decrypt to zeros: the payload was modified on the way.
    case taggedPayload
    /// A route was empty, longer than the geometry allows, or a message too long (sender side).
    case badRoute
    case messageTooLong

    public var description: String {
        switch self {
        case .wrongSize: "packet has the wrong size"
        case .unknownEpoch: "packet is for an unknown or expired epoch"
        case .badMAC: "header MAC does not verify"
        case .replayed: "replayed packet"
        case .weakKey: "packet key is a low-order point"
        case .badCommand: "invalid routing command"
        case .taggedPayload: "payload was modified in transit"
        case .badRoute: "route is empty or too long"
        case .messageTooLong: "message does not fit in the payload"
        }
    }
}

/// Counters of processed and refused packets, by reason (exported as metrics by the node).
public struct PacketStats: Equatable {
    public var processed = 0
    public var wrongSize = 0, unknownEpoch = 0, badMAC = 0, replayed = 0
    public var weakKey = 0, badCommand = 0, taggedPayload = 0

    public init() {}

    public var refused: Int { wrongSize + unknownEpoch + badMAC + replayed + weakKey + badCommand + taggedPayload }

    mutating func count(_ error: PacketError) {
        switch error {
        case .wrongSize: wrongSize += 1
        case .unknownEpoch: unknownEpoch += 1
        case .badMAC: badMAC += 1
        case .replayed: replayed += 1
        case .weakKey: weakKey += 1
        case .badCommand: badCommand += 1
        case .taggedPayload: taggedPayload += 1
        case .badRoute, .messageTooLong: break
        }
    }
}
