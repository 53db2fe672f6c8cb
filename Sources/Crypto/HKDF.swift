import PosternSystem

/// HKDF-SHA256 (RFC 5869). Every protocol key in Postern is derived with it under a distinct `info`
/// label (see docs/PROTOCOL.md), so keys for different purposes are independent.
public enum HKDF {
    public static let hashBytes = 32
    public static let maxOutputBytes = 255 * 32

    /// PRK = HMAC(salt, IKM). An empty salt means 32 zero bytes, which HMAC pads identically.
    @inlinable
    public static func extract(salt: UnsafeRawBufferPointer, ikm: UnsafeRawBufferPointer,
                               prk: UnsafeMutableRawPointer) {
        HMACSHA256.authenticate(key: salt.baseAddress, keyCount: salt.count,
                                message: ikm.baseAddress, count: ikm.count, output: prk)
    }

    /// OKM = T(1) ‖ T(2) ‖ … truncated to `count`, T(i) = HMAC(PRK, T(i-1) ‖ info ‖ i).
    /// Works on the stack: no allocation for any output length.
    public static func expand(prk: UnsafeRawPointer, info: UnsafeRawBufferPointer,
                              output: UnsafeMutableRawPointer, count: Int) throws(CryptoError) {
        guard count <= maxOutputBytes else { throw .outputTooLong }
        // Block = previous T (32) ‖ info ‖ counter byte, built in a stack buffer sized for typical labels;
        // long infos stream through the incremental HMAC instead.
        var produced = 0
        var previous = (UInt64(0), UInt64(0), UInt64(0), UInt64(0))
        var index: UInt8 = 1
        while produced < count {
            var state = HMACState(key: prk, keyCount: hashBytes)
            if index > 1 { withUnsafeBytes(of: &previous) { state.update($0.baseAddress!, 32) } }
            if let base = info.baseAddress { state.update(base, info.count) }
            withUnsafeBytes(of: &index) { state.update($0.baseAddress!, 1) }
            withUnsafeMutableBytes(of: &previous) { state.finish(into: $0.baseAddress!) }
            let take = min(hashBytes, count - produced)
            withUnsafeBytes(of: &previous) { output.advanced(by: produced).copyMemory(from: $0.baseAddress!, byteCount: take) }
            produced += take
            index &+= 1
        }
        withUnsafeMutableBytes(of: &previous) { Memory.wipe($0.baseAddress!, count: 32) }
    }

    /// Extract-then-expand in one call.
    public static func derive(salt: UnsafeRawBufferPointer, ikm: UnsafeRawBufferPointer, info: UnsafeRawBufferPointer,
                              output: UnsafeMutableRawPointer, count: Int) throws(CryptoError) {
        var prk = (UInt64(0), UInt64(0), UInt64(0), UInt64(0))
        defer { withUnsafeMutableBytes(of: &prk) { Memory.wipe($0.baseAddress!, count: 32) } }
        try withUnsafeMutableBytes(of: &prk) { (p) throws(CryptoError) in
            extract(salt: salt, ikm: ikm, prk: p.baseAddress!)
            try expand(prk: p.baseAddress!, info: info, output: output, count: count)
        }
    }

    public static func derive(salt: [UInt8], ikm: [UInt8], info: [UInt8], count: Int) throws(CryptoError) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        try withBytes(salt) { (s) throws(CryptoError) in
            try withBytes(ikm) { (k) throws(CryptoError) in
                try withBytes(info) { (i) throws(CryptoError) in
                    try withMutableBytes(&out) { (o) throws(CryptoError) in
                        if count > 0 { try derive(salt: s, ikm: k, info: i, output: o.baseAddress!, count: count) }
                    }
                }
            }
        }
        return out
    }
}
