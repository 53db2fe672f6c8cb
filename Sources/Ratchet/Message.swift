import PosternCrypto
import PosternSystem

/// One ratchet message: where it is deposited and what is deposited there.
///
/// ciphertext = version (1) ‖ header nonce (24) ‖ encrypted header (40 + 16) ‖ body (n + 16)
///   header      = sender's ratchet public key (32) ‖ PN (u32 LE) ‖ N (u32 LE), XChaCha20-Poly1305 under the
///                 chain's header key, associated data = address
///   body        = ChaCha20-Poly1305 under the message key's (key, nonce), associated data = everything
///                 before the body ‖ address
public struct RatchetMessage: Equatable {
    public var address: Bytes32
    public var ciphertext: [UInt8]

    public init(address: Bytes32, ciphertext: [UInt8]) {
        self.address = address
        self.ciphertext = ciphertext
    }

    public static let version: UInt8 = 1
    static let headerPlainBytes = 40
    static let headerSealedBytes = 56
    static let headerStart = 25
    static let bodyStart = 81
    /// Bytes a message adds to its plaintext.
    public static let overhead = bodyStart + 16
}

/// The plaintext header.
struct RatchetHeader {
    var dh: Bytes32
    var pn: UInt32
    var n: UInt32

    func encoded() -> [UInt8] {
        var out = dh.bytes
        withUnsafeBytes(of: pn.littleEndian) { out += $0 }
        withUnsafeBytes(of: n.littleEndian) { out += $0 }
        return out
    }

    init(dh: Bytes32, pn: UInt32, n: UInt32) { self.dh = dh; self.pn = pn; self.n = n }

    init?(_ bytes: [UInt8]) {
        guard bytes.count == RatchetMessage.headerPlainBytes else { return nil }
        dh = Bytes32(Array(bytes[0..<32]))!
        pn = bytes[32..<36].reversed().reduce(0) { $0 << 8 | UInt32($1) }
        n = bytes[36..<40].reversed().reduce(0) { $0 << 8 | UInt32($1) }
    }
}

enum MessageCrypto {
    static func seal(header: RatchetHeader, headerKey: Bytes32, messageKey: Bytes32, address: Bytes32,
                     plaintext: [UInt8]) -> [UInt8] {
        let nonce = Random.bytes(24)
        let sealedHeader = XChaChaPoly.seal(key: headerKey.bytes, nonce: nonce, ad: address.bytes, header.encoded())
        let prefix = [RatchetMessage.version] + nonce + sealedHeader
        var keys = [UInt8](repeating: 0, count: 44)
        keys.withUnsafeMutableBytes { KDF.messageKeys(messageKey, into: $0.baseAddress!) }
        defer { Memory.wipe(&keys) }
        let body = ChaChaPoly.seal(key: Array(keys[0..<32]), nonce: Array(keys[32..<44]), ad: prefix + address.bytes, plaintext)
        return prefix + body
    }

    /// Decrypts the header with `headerKey`; nil when it does not authenticate under that key.
    static func openHeader(_ message: RatchetMessage, headerKey: Bytes32) throws(RatchetError) -> RatchetHeader? {
        let c = message.ciphertext
        guard c.count >= RatchetMessage.overhead else { throw .malformed }
        guard c[0] == RatchetMessage.version else { throw .unsupportedVersion(c[0]) }
        let nonce = Array(c[1..<25]), sealed = Array(c[RatchetMessage.headerStart..<RatchetMessage.bodyStart])
        guard let plain = try? XChaChaPoly.open(key: headerKey.bytes, nonce: nonce, ad: message.address.bytes, sealed) else {
            return nil
        }
        return RatchetHeader(plain)
    }

    static func openBody(_ message: RatchetMessage, messageKey: Bytes32) throws(RatchetError) -> [UInt8] {
        let c = message.ciphertext
        var keys = [UInt8](repeating: 0, count: 44)
        keys.withUnsafeMutableBytes { KDF.messageKeys(messageKey, into: $0.baseAddress!) }
        defer { Memory.wipe(&keys) }
        let prefix = Array(c[0..<RatchetMessage.bodyStart])
        do {
            return try ChaChaPoly.open(key: Array(keys[0..<32]), nonce: Array(keys[32..<44]), ad: prefix + message.address.bytes,
                                       Array(c[RatchetMessage.bodyStart...]))
        } catch {
            throw .forged
        }
    }
}
