import PosternCrypto

/// What two people exchange out of band (in person, as text or a QR code) to start a conversation:
/// a fresh X25519 public key made for this one contact, and the node id of the gateway whose mailbox
/// the bundle's owner reads.
///
/// Text form: `postern:` + base32(version ‖ public key (32) ‖ gateway (32) ‖ checksum (4)), where the
/// checksum is the first 4 bytes of BLAKE2b-256("postern/bundle/v1" ‖ the 65 bytes before it).
/// 120 characters; a typo or a damaged scan fails the checksum instead of silently starting a
/// conversation with nobody.
public struct ContactBundle: Equatable {
    public static let version: UInt8 = 1
    public static let prefix = "postern:"
    public var publicKey: Bytes32
    public var gateway: Bytes32

    public init(publicKey: Bytes32, gateway: Bytes32) {
        self.publicKey = publicKey
        self.gateway = gateway
    }

    static func checksum(_ body: [UInt8]) -> [UInt8] {
        Array(BLAKE2b.hash(Array("postern/bundle/v1".utf8) + body, outputCount: 32).prefix(4))
    }

    public var text: String {
        let body = [Self.version] + publicKey.bytes + gateway.bytes
        return Self.prefix + Base32.encode(body + Self.checksum(body))
    }

    /// Parses the text form. Whitespace anywhere is ignored (a bundle wrapped across lines by a mail or
    /// chat program), so is case, and the `postern:` prefix may be left out (pasted without it).
    public init(text: String) throws(RatchetError) {
        var compact = ""   // (by scalar: "\r\n" is one Character, equal to neither "\r" nor "\n")
        for c in text.lowercased().unicodeScalars where !(c == " " || c == "\n" || c == "\r" || c == "\t") { compact.unicodeScalars.append(c) }
        let prefixed = compact.hasPrefix(Self.prefix)
        let body = prefixed ? String(compact.dropFirst(Self.prefix.count)) : compact
        guard !body.isEmpty, let bytes = Base32.decode(body) else { throw .malformed }
        // Without the prefix only a whole version-1 bundle counts as one (any word is valid base32).
        guard prefixed || (bytes.count == 69 && bytes[0] == Self.version) else { throw .malformed }
        guard let version = bytes.first else { throw .malformed }
        guard version == Self.version else { throw .unsupportedVersion(version) }
        guard bytes.count == 69 else { throw .malformed }
        guard Memory.equal(Self.checksum(Array(bytes[0..<65])), Array(bytes[65..<69])) else { throw .badChecksum }
        publicKey = Bytes32(Array(bytes[1..<33]))!
        gateway = Bytes32(Array(bytes[33..<65]))!
    }
}

/// The private half of a bundle, kept by its creator until the conversation starts.
public struct ContactSecret {
    public let secret: Bytes32
    public let bundle: ContactBundle

    /// A fresh key for one new contact, reachable through `gateway`.
    public init(gateway: Bytes32) {
        let secret = Bytes32.random()
        self.init(secret: secret, gateway: gateway)
    }

    public init(secret: Bytes32, gateway: Bytes32) {
        self.secret = secret
        bundle = ContactBundle(publicKey: KDF.publicKey(secret), gateway: gateway)
    }
}
