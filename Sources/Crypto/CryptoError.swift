/// Failures of cryptographic operations. Kept small and typed so every API can use `throws(CryptoError)`.
public enum CryptoError: Error, Equatable, CustomStringConvertible {
    /// An AEAD tag or MAC did not verify: the input was forged, corrupted or for another key.
    case authenticationFailed
    /// A Diffie-Hellman result was all zero (the peer sent a low-order point).
    case weakPublicKey
    /// A buffer had the wrong length for the operation.
    case badLength
    /// A requested output size is outside what the primitive can produce.
    case outputTooLong

    public var description: String {
        switch self {
        case .authenticationFailed: "authentication failed (forged, corrupted, or for another key)"
        case .weakPublicKey: "the peer's public key is a low-order point"
        case .badLength: "a buffer has the wrong length"
        case .outputTooLong: "requested output is longer than the primitive produces"
        }
    }
}
