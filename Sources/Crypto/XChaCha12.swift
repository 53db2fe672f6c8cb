import PosternSIMD

/// XChaCha12: ChaCha with 12 rounds and a 192-bit nonce, Adiantum's stream cipher (Crowley & Biggers 2018;
/// the same construction as libsodium's and Linux's XChaCha20, only with 6 double rounds in both parts).
///
///     subkey    = HChaCha12(key, nonce[0..<16])
///     keystream = ChaCha12(subkey, 64-bit nonce = nonce[16..<24]), 64-bit block counter from 0
///
/// ChaCha12 here is the original (not the IETF) block layout: words 12–13 hold the block counter and
/// words 14–15 the nonce. The keystream comes from the SIMD core shared with ChaCha20 (`ChaCha20SIMD`,
/// NEON on ARM); libsodium has no 12-round ChaCha.
public enum XChaCha12 {
    public static let keyBytes = 32
    public static let nonceBytes = 24

    /// `output = input XOR XChaCha12(key, nonce)` for `count` bytes; `output` may equal `input`.
    @inline(__always)
    public static func xor(key: UnsafeRawPointer, nonce: UnsafeRawPointer, input: UnsafeRawPointer,
                           output: UnsafeMutableRawPointer, count: Int) {
        let subkey = HChaCha12.words(key: key, nonce: nonce)
        let tail = (UInt32(0), word(nonce, 4), word(nonce, 5))
        ChaCha20SIMD.stream(ChaCha20SIMD.Setup(key: subkey, nonce: tail), position: 0, doubleRounds: 6,
                            input: input, output: output, count: count)
    }

    @inline(__always) @usableFromInline
    static func word(_ p: UnsafeRawPointer, _ i: Int) -> UInt32 {
        UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))
    }

    /// Array form for tests and cold paths; `lanes` picks the kernel width (default: the CPU's best).
    public static func xor(key: [UInt8], nonce: [UInt8], _ input: [UInt8], lanes: ChaCha20SIMD.Lanes? = nil) -> [UInt8] {
        precondition(key.count == keyBytes && nonce.count == nonceBytes)
        var output = input
        if input.isEmpty { return output }
        key.withUnsafeBytes { k in nonce.withUnsafeBytes { n in output.withUnsafeMutableBytes { o in
            let (key, nonce, data) = (k.baseAddress!, n.baseAddress!, o.baseAddress!)
            if let lanes {
                let setup = ChaCha20SIMD.Setup(key: HChaCha12.words(key: key, nonce: nonce),
                                               nonce: (UInt32(0), word(nonce, 4), word(nonce, 5)))
                ChaCha20SIMD.stream(setup, position: 0, doubleRounds: 6, input: data, output: data, count: o.count, lanes: lanes)
            } else {
                xor(key: key, nonce: nonce, input: data, output: data, count: o.count)
            }
        } } }
        return output
    }
}

/// HChaCha12: the ChaCha12 permutation of (constants ‖ key ‖ 16-byte input) without the final addition;
/// words 0–3 ‖ 12–15 of the result are a 32-byte subkey. One block, scalar.
public enum HChaCha12 {
    public typealias Words = (UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32)

    @inline(__always) @usableFromInline
    static func words(key: UnsafeRawPointer, nonce: UnsafeRawPointer) -> Words {
        var x0: UInt32 = 0x6170_7865, x1: UInt32 = 0x3320_646e, x2: UInt32 = 0x7962_2d32, x3: UInt32 = 0x6b20_6574
        var x4 = XChaCha12.word(key, 0), x5 = XChaCha12.word(key, 1), x6 = XChaCha12.word(key, 2), x7 = XChaCha12.word(key, 3)
        var x8 = XChaCha12.word(key, 4), x9 = XChaCha12.word(key, 5), x10 = XChaCha12.word(key, 6), x11 = XChaCha12.word(key, 7)
        var x12 = XChaCha12.word(nonce, 0), x13 = XChaCha12.word(nonce, 1)
        var x14 = XChaCha12.word(nonce, 2), x15 = XChaCha12.word(nonce, 3)
        @inline(__always)
        func quarter(_ a: inout UInt32, _ b: inout UInt32, _ c: inout UInt32, _ d: inout UInt32) {
            a &+= b; d ^= a; d = d.rotl(16)
            c &+= d; b ^= c; b = b.rotl(12)
            a &+= b; d ^= a; d = d.rotl(8)
            c &+= d; b ^= c; b = b.rotl(7)
        }
        for _ in 0..<6 {
            quarter(&x0, &x4, &x8, &x12); quarter(&x1, &x5, &x9, &x13)
            quarter(&x2, &x6, &x10, &x14); quarter(&x3, &x7, &x11, &x15)
            quarter(&x0, &x5, &x10, &x15); quarter(&x1, &x6, &x11, &x12)
            quarter(&x2, &x7, &x8, &x13); quarter(&x3, &x4, &x9, &x14)
        }
        return (x0, x1, x2, x3, x12, x13, x14, x15)
    }

    /// Writes the 32-byte subkey for `key` (32 bytes) and `nonce` (16 bytes).
    public static func subkey(key: UnsafeRawPointer, nonce: UnsafeRawPointer, into out: UnsafeMutableRawPointer) {
        var w = words(key: key, nonce: nonce)
        withUnsafeMutableBytes(of: &w) {
            out.copyMemory(from: $0.baseAddress!, byteCount: 32)
            Memory.wipe($0.baseAddress!, count: 32)
        }
    }
}

extension UInt32 {
    @inline(__always) @usableFromInline
    func rotl(_ n: UInt32) -> UInt32 { (self &<< n) | (self &>> (32 &- n)) }
}
