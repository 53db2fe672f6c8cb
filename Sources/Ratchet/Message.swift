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

    init(dh: Bytes32, pn: UInt32, n: UInt32) { self.dh = dh; self.pn = pn; self.n = n }

    /// dh (32) ‖ PN (u32 LE) ‖ N (u32 LE) into 40 bytes at `out`.
    func encode(into out: UnsafeMutableRawPointer) {
        var d = dh.words
        withUnsafeBytes(of: &d) { out.copyMemory(from: $0.baseAddress!, byteCount: 32) }
        out.storeBytes(of: pn.littleEndian, toByteOffset: 32, as: UInt32.self)
        out.storeBytes(of: n.littleEndian, toByteOffset: 36, as: UInt32.self)
    }

    init(decoding p: UnsafeRawPointer) {
        dh = Bytes32(p)
        pn = UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 32, as: UInt32.self))
        n = UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 36, as: UInt32.self))
    }
}

/// Sealing and opening in place, into caller-provided buffers: the only allocation on the ratchet's send
/// and receive paths is the array form's result (see `Conversation`).
enum MessageCrypto {
    /// Writes the ciphertext (`plaintext.count + RatchetMessage.overhead` bytes) to `out`.
    static func seal(header: RatchetHeader, headerKey: Bytes32, messageKey: Bytes32, address: Bytes32,
                     plaintext: UnsafeRawBufferPointer, into out: UnsafeMutableRawPointer) {
        out.storeBytes(of: RatchetMessage.version, as: UInt8.self)
        Random.fill(out + 1, count: 24)
        var hk = headerKey.words, a = address.words
        // Stack scratch: header plaintext (40) ‖ body keys (44) ‖ body associated data (81 + 32).
        withUnsafeTemporaryAllocation(byteCount: 40 + 44 + RatchetMessage.bodyStart + 32, alignment: 16) { scratch in
            let plain = scratch.baseAddress!, keys = plain + 40, ad = keys + 44
            header.encode(into: plain)
            withUnsafeBytes(of: &hk) { k in withUnsafeBytes(of: &a) { addr in
                XChaChaPoly.seal(key: k.baseAddress!, nonce: out + 1, ad: addr.baseAddress!, adCount: 32,
                                 plaintext: plain, count: RatchetMessage.headerPlainBytes, output: out + RatchetMessage.headerStart)
                ad.copyMemory(from: out, byteCount: RatchetMessage.bodyStart)
                (ad + RatchetMessage.bodyStart).copyMemory(from: addr.baseAddress!, byteCount: 32)
            } }
            KDF.messageKeys(messageKey, into: keys)
            ChaChaPoly.seal(key: keys, nonce: keys + 32, ad: ad, adCount: RatchetMessage.bodyStart + 32,
                            plaintext: plaintext.baseAddress, count: plaintext.count, output: out + RatchetMessage.bodyStart)
            Memory.wipe(plain, count: scratch.count)
        }
        withUnsafeMutableBytes(of: &hk) { Memory.wipe($0.baseAddress!, count: 32) }
    }

    /// Checks the version and length of `c` (a whole ciphertext).
    static func check(_ c: UnsafeRawBufferPointer) throws(RatchetError) {
        guard c.count >= RatchetMessage.overhead, let base = c.baseAddress else { throw .malformed }
        let version = base.load(as: UInt8.self)
        guard version == RatchetMessage.version else { throw .unsupportedVersion(version) }
    }

    /// Decrypts the header with `headerKey`; nil when it does not authenticate under that key. `c` has
    /// passed `check`.
    static func openHeader(_ c: UnsafeRawBufferPointer, address: Bytes32, headerKey: Bytes32) -> RatchetHeader? {
        var hk = headerKey.words, a = address.words
        defer { withUnsafeMutableBytes(of: &hk) { Memory.wipe($0.baseAddress!, count: 32) } }
        return withUnsafeTemporaryAllocation(byteCount: RatchetMessage.headerPlainBytes, alignment: 16) { plain in
            let ok = withUnsafeBytes(of: &hk) { k in withUnsafeBytes(of: &a) { addr in
                do throws(CryptoError) {
                    try XChaChaPoly.open(key: k.baseAddress!, nonce: c.baseAddress! + 1, ad: addr.baseAddress!, adCount: 32,
                                         ciphertext: c.baseAddress! + RatchetMessage.headerStart,
                                         count: RatchetMessage.headerSealedBytes, output: plain.baseAddress!)
                    return true
                } catch {
                    return false
                }
            } }
            return ok ? RatchetHeader(decoding: plain.baseAddress!) : nil
        }
    }

    /// Decrypts the body of `c` into `out` (`c.count - RatchetMessage.overhead` bytes); no plaintext is written
    /// unless it authenticates (libsodium zeroes `out` on failure).
    static func openBody(_ c: UnsafeRawBufferPointer, address: Bytes32, messageKey: Bytes32,
                         into out: UnsafeMutableRawPointer?) throws(RatchetError) {
        var a = address.words
        let ok = withUnsafeTemporaryAllocation(byteCount: 44 + RatchetMessage.bodyStart + 32, alignment: 16) { scratch in
            let keys = scratch.baseAddress!, ad = keys + 44
            KDF.messageKeys(messageKey, into: keys)
            ad.copyMemory(from: c.baseAddress!, byteCount: RatchetMessage.bodyStart)
            withUnsafeBytes(of: &a) { (ad + RatchetMessage.bodyStart).copyMemory(from: $0.baseAddress!, byteCount: 32) }
            defer { Memory.wipe(keys, count: 44) }
            do throws(CryptoError) {
                try ChaChaPoly.open(key: keys, nonce: keys + 32, ad: ad, adCount: RatchetMessage.bodyStart + 32,
                                    ciphertext: c.baseAddress! + RatchetMessage.bodyStart,
                                    count: c.count - RatchetMessage.bodyStart, output: out)
                return true
            } catch {
                return false
            }
        }
        if !ok { throw .forged }
    }
}
