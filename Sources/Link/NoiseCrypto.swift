import PosternCrypto

/// Noise's HASH, HMAC and HKDF for BLAKE2b (HASHLEN 64, BLOCKLEN 128), as the Noise specification §4.3
/// and §5.2 define them. Used only during handshakes.
enum NoiseHash {
    static let length = 64
    static let block = 128

    static func hash(_ parts: [UInt8]...) -> [UInt8] {
        let h = BLAKE2b.Hasher(outputCount: 64)
        for p in parts { h.update(p) }
        return h.finish()
    }

    static func hmac(_ key: [UInt8], _ parts: [UInt8]...) -> [UInt8] {
        var k = key.count > block ? hash(key) : key
        k += [UInt8](repeating: 0, count: block - k.count)
        let inner = BLAKE2b.Hasher(outputCount: 64)
        inner.update(k.map { $0 ^ 0x36 })
        for p in parts { inner.update(p) }
        let innerHash = inner.finish()
        let outer = BLAKE2b.Hasher(outputCount: 64)
        outer.update(k.map { $0 ^ 0x5c })
        outer.update(innerHash)
        Memory.wipe(&k)
        return outer.finish()
    }

    /// HKDF(chaining key, input key material, n outputs), each HASHLEN bytes.
    static func hkdf(_ ck: [UInt8], _ ikm: [UInt8], _ n: Int) -> [[UInt8]] {
        var temp = hmac(ck, ikm)
        var outputs: [[UInt8]] = []
        var previous: [UInt8] = []
        for i in 1...n {
            previous = hmac(temp, previous, [UInt8(i)])
            outputs.append(previous)
        }
        Memory.wipe(&temp)
        return outputs
    }
}

/// Noise CipherState for ChaChaPoly: key k and 64-bit nonce n; nonce bytes = 4 zero bytes ‖ n (LE).
/// Transport encryption works on caller buffers and allocates nothing.
public struct NoiseCipher {
    var key: [UInt8]?
    var nonce: UInt64 = 0

    init(key: [UInt8]?) { self.key = key.map { Array($0.prefix(32)) } }

    var hasKey: Bool { key != nil }

    @inline(__always)
    private func nonceBytes(_ body: (UnsafeRawPointer) -> Void) {
        var n: (UInt32, UInt64) = (0, nonce.littleEndian)
        withUnsafeBytes(of: &n) { raw in
            // (UInt32, UInt64) has padding; build the 12 bytes explicitly.
            withUnsafeTemporaryAllocation(byteCount: 12, alignment: 4) { b in
                b.storeBytes(of: UInt32(0), toByteOffset: 0, as: UInt32.self)
                b.storeBytes(of: nonce.littleEndian, toByteOffset: 4, as: UInt64.self)
                body(UnsafeRawPointer(b.baseAddress!))
            }
            _ = raw
        }
    }

    /// Encrypts `count` bytes from `plaintext` into `output` (count + 16 bytes) with associated data.
    mutating func encrypt(ad: UnsafeRawBufferPointer, plaintext: UnsafeRawPointer?, count: Int, output: UnsafeMutableRawPointer) {
        guard let key else {
            if let plaintext, count > 0 { output.copyMemory(from: plaintext, byteCount: count) }
            return
        }
        key.withUnsafeBytes { k in
            nonceBytes { n in
                ChaChaPoly.seal(key: k.baseAddress!, nonce: n, ad: ad.baseAddress, adCount: ad.count,
                                plaintext: plaintext, count: count, output: output)
            }
        }
        nonce += 1
    }

    /// Decrypts `count` bytes (tag included) into `output`. The nonce advances only on success.
    mutating func decrypt(ad: UnsafeRawBufferPointer, ciphertext: UnsafeRawPointer, count: Int,
                          output: UnsafeMutableRawPointer) throws(LinkError) {
        guard let key else {
            output.copyMemory(from: ciphertext, byteCount: count)
            return
        }
        guard count >= 16 else { throw .decryptFailed }
        var ok = false
        key.withUnsafeBytes { k in
            nonceBytes { n in
                ok = (try? ChaChaPoly.open(key: k.baseAddress!, nonce: n, ad: ad.baseAddress, adCount: ad.count,
                                           ciphertext: ciphertext, count: count, output: output)) != nil
            }
        }
        guard ok else { throw .decryptFailed }
        nonce += 1
    }

    mutating func encrypt(ad: [UInt8], _ plaintext: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: plaintext.count + (hasKey ? 16 : 0))
        ad.withUnsafeBytes { a in plaintext.withUnsafeBytes { p in out.withUnsafeMutableBytes { o in
            if o.count > 0 { encrypt(ad: a, plaintext: p.baseAddress, count: p.count, output: o.baseAddress!) }
        } } }
        return out
    }

    mutating func decrypt(ad: [UInt8], _ ciphertext: [UInt8]) throws(LinkError) -> [UInt8] {
        let tag = hasKey ? 16 : 0
        guard ciphertext.count >= tag else { throw .decryptFailed }
        var out = [UInt8](repeating: 0, count: ciphertext.count - tag)
        var failed = false
        ad.withUnsafeBytes { a in ciphertext.withUnsafeBytes { c in out.withUnsafeMutableBytes { o in
            guard c.count > 0 else { return }
            do throws(LinkError) { try decrypt(ad: a, ciphertext: c.baseAddress!, count: c.count, output: o.baseAddress ?? UnsafeMutableRawPointer(mutating: c.baseAddress!)) }
            catch { failed = true }
        } } }
        if failed { throw .decryptFailed }
        return out
    }

    mutating func wipe() {
        if key != nil { Memory.wipe(&key!) }
        key = nil
    }
}

public enum LinkError: Error, Equatable, CustomStringConvertible {
    case decryptFailed
    case badHandshake(String)
    case frameTooLarge
    case closed

    public var description: String {
        switch self {
        case .decryptFailed: "frame failed authentication"
        case .badHandshake(let why): "handshake failed: \(why)"
        case .frameTooLarge: "frame larger than allowed"
        case .closed: "connection closed"
        }
    }
}
