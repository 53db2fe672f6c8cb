/// Why a ratchet operation failed. A failed `receive` leaves the conversation state exactly as it was.
public enum RatchetError: Error, Equatable, CustomStringConvertible {
    /// The message's address is not one this conversation is watching (never ours, already used,
    /// expired, or beyond the look-ahead window).
    case unknownAddress
    /// The header or body did not authenticate: forged, corrupted, or replayed with other contents.
    case forged
    /// The message would require skipping more than `maxSkip` message keys.
    case tooManySkipped
    /// The bytes are not a message, state or bundle of a known format.
    case malformed
    /// A version this implementation does not know.
    case unsupportedVersion(UInt8)
    /// A contact bundle's checksum does not match: mistyped or damaged.
    case badChecksum
    /// A bundle is our own, or its key is invalid.
    case badBundle

    public var description: String {
        switch self {
        case .unknownAddress: "message address is not one this conversation expects"
        case .forged: "message failed authentication"
        case .tooManySkipped: "message is too far ahead (more than the skip limit)"
        case .malformed: "malformed data"
        case .unsupportedVersion(let v): "unsupported version \(v)"
        case .badChecksum: "checksum mismatch (mistyped or damaged)"
        case .badBundle: "invalid contact bundle"
        }
    }
}
