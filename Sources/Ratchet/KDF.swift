import PosternCrypto

/// The ratchet's key derivation functions (docs/PROTOCOL.md §3). All are HMAC-SHA256 / HKDF-SHA256 with
/// distinct labels, over 32-byte keys held as `Bytes32`, computed on the stack: a symmetric step
/// allocates nothing.
enum KDF {
    static let rootInfo: [UInt8] = Array("postern/ratchet/root/v1".utf8)
    static let initInfo: [UInt8] = Array("postern/ratchet/init/v1".utf8)
    static let messageInfo: [UInt8] = Array("postern/ratchet/message/v1".utf8)

    /// HMAC-SHA256(key, [byte]) as a Bytes32.
    @inline(__always)
    static func hmacByte(_ key: Bytes32, _ byte: UInt8) -> Bytes32 {
        var k = key.words
        var b = byte
        var out = Bytes32.zero
        withUnsafeBytes(of: &k) { kp in withUnsafeBytes(of: &b) { bp in withUnsafeMutableBytes(of: &out.words) { op in
            HMACSHA256.authenticate(key: kp.baseAddress!, keyCount: 32, message: bp.baseAddress!, count: 1,
                                    output: op.baseAddress!)
        } } }
        return out
    }

    /// Message chain step: (next chain key, message key) = (HMAC(ck, 0x02), HMAC(ck, 0x01)).
    @inline(__always)
    static func chain(_ ck: Bytes32) -> (next: Bytes32, message: Bytes32) {
        (hmacByte(ck, 0x02), hmacByte(ck, 0x01))
    }

    /// Address chain step: (next address key, address) = (HMAC(ak, 0x04), HMAC(ak, 0x03)).
    @inline(__always)
    static func address(_ ak: Bytes32) -> (next: Bytes32, address: Bytes32) {
        (hmacByte(ak, 0x04), hmacByte(ak, 0x03))
    }

    /// Root step: HKDF(salt = rk, ikm = dh, "postern/ratchet/root/v1", 128) = RK′ ‖ CK ‖ NHK ‖ NAK.
    static func root(_ rk: Bytes32, _ dh: Bytes32) -> (rk: Bytes32, ck: Bytes32, nhk: Bytes32, nak: Bytes32) {
        var r = rk.words, d = dh.words
        var out = (Bytes32.zero, Bytes32.zero, Bytes32.zero, Bytes32.zero)
        withUnsafeBytes(of: &r) { salt in withUnsafeBytes(of: &d) { ikm in
            rootInfo.withUnsafeBytes { info in withUnsafeMutableBytes(of: &out) { o in
                try! HKDF.derive(salt: salt, ikm: ikm, info: info, output: o.baseAddress!, count: 128)
            } }
        } }
        return out
    }

    /// Message key → AEAD key (32) and nonce (12) for the body.
    static func messageKeys(_ mk: Bytes32, into out: UnsafeMutableRawPointer) {
        var m = mk.words
        withUnsafeBytes(of: &m) { ikm in messageInfo.withUnsafeBytes { info in
            try! HKDF.derive(salt: UnsafeRawBufferPointer(start: nil, count: 0), ikm: ikm, info: info, output: out, count: 44)
        } }
    }

    /// X25519 between a secret Bytes32 and a public Bytes32.
    static func dh(_ secret: Bytes32, _ publicKey: Bytes32) throws(RatchetError) -> Bytes32 {
        var s = secret.words, p = publicKey.words
        var out = Bytes32.zero
        let ok = withUnsafeBytes(of: &s) { sp in withUnsafeBytes(of: &p) { pp in withUnsafeMutableBytes(of: &out.words) { op in
            (try? X25519.sharedSecret(secret: sp.baseAddress!, publicKey: pp.baseAddress!, into: op.baseAddress!)) != nil
        } } }
        s = (0, 0, 0, 0)
        guard ok else { throw .badBundle }
        return out
    }

    static func publicKey(_ secret: Bytes32) -> Bytes32 {
        var s = secret.words
        var out = Bytes32.zero
        withUnsafeBytes(of: &s) { sp in withUnsafeMutableBytes(of: &out.words) { X25519.publicKey(secret: sp.baseAddress!, into: $0.baseAddress!) } }
        return out
    }
}

extension Bytes32 {
    /// Overwrites the value with zeros (for secrets held in class properties, wiped in `deinit`).
    mutating func wipe() {
        withUnsafeMutableBytes(of: &words) { Memory.wipe($0.baseAddress!, count: 32) }
    }
}
