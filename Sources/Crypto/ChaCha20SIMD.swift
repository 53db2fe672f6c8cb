/// ChaCha20 (RFC 8439) written with Swift SIMD types: NEON on ARM, SSE on x86_64.
///
/// Layout: four consecutive blocks are computed at once, "vertically": vector `x[i]` holds state word `i`
/// of blocks n…n+3, so each quarter-round is plain lane-wise add/xor/rotate with no shuffles, and all
/// sixteen vectors fit in NEON's 32 registers. The only data movement is a 4×4 transpose per group of
/// four words when the keystream is XORed into the message.
///
/// Counter semantics match `ChaCha20Sodium` (and OpenSSL): block counter = word 12, and when it wraps the
/// carry goes into word 13 (the first nonce word). Tests check byte equality with libsodium for every
/// length 0…4 KiB and counters around 2³².
public enum ChaCha20SIMD: ChaCha20Implementation {
    public typealias V = SIMD4<UInt32>
    public static let blockBytes = 64
    static let batchBytes = 256

    /// Rotate left. On ARM `shl|lshr` becomes NEON `shl`+`usra` (and `rev32` for 16). On x86_64 LLVM
    /// turns the same pattern into a vector funnel shift that SSE2 can only do lane by lane (scalar
    /// `rol`, 5× slower overall), so there the left shift is written as a multiply by 2ⁿ, which still
    /// compiles to `pslld` but is not matched as a rotate.
    @inline(__always) @usableFromInline
    static func rotl(_ v: V, _ n: UInt32) -> V {
        #if arch(x86_64)
        return (v &* V(repeating: 1 &<< n)) | (v &>> (32 &- n))
        #else
        return (v &<< n) | (v &>> (32 &- n))
        #endif
    }

    @inline(__always) @usableFromInline
    static func quarter(_ a: inout V, _ b: inout V, _ c: inout V, _ d: inout V) {
        a &+= b; d ^= a; d = rotl(d, 16)
        c &+= d; b ^= c; b = rotl(b, 12)
        a &+= b; d ^= a; d = rotl(d, 8)
        c &+= d; b ^= c; b = rotl(b, 7)
    }

    /// The constant, key and nonce words, loaded once per call.
    @usableFromInline
    struct Setup {
        @usableFromInline var k: (UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32)
        @usableFromInline var n: (UInt32, UInt32, UInt32)

        @inline(__always) @usableFromInline
        init(key k: (UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32), nonce n: (UInt32, UInt32, UInt32)) {
            self.k = k
            self.n = n
        }

        @inline(__always) @usableFromInline
        init(key: UnsafeRawPointer, nonce: UnsafeRawPointer) {
            func w(_ p: UnsafeRawPointer, _ i: Int) -> UInt32 {
                UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))
            }
            k = (w(key, 0), w(key, 1), w(key, 2), w(key, 3), w(key, 4), w(key, 5), w(key, 6), w(key, 7))
            n = (w(nonce, 0), w(nonce, 1), w(nonce, 2))
        }
    }

    /// Computes four keystream blocks starting at 64-bit block position `position` (word 13 ‖ word 12) and XORs them into `count` (≤ 256) bytes of `input`.
    /// `doubleRounds` is 10 for ChaCha20 and 6 for ChaCha12 (Adiantum's XChaCha12); callers pass a constant.
    @inline(__always) @usableFromInline
    static func batch(_ s: Setup, position: UInt64, doubleRounds: Int, input: UnsafeRawPointer,
                      output: UnsafeMutableRawPointer, count: Int) {
        let lanes = SIMD4<UInt64>(position, position &+ 1, position &+ 2, position &+ 3)
        let c12 = V(truncatingIfNeeded: lanes)
        let c13 = V(truncatingIfNeeded: lanes &>> 32)
        let i0 = V(repeating: 0x6170_7865), i1 = V(repeating: 0x3320_646e)
        let i2 = V(repeating: 0x7962_2d32), i3 = V(repeating: 0x6b20_6574)
        let i4 = V(repeating: s.k.0), i5 = V(repeating: s.k.1), i6 = V(repeating: s.k.2), i7 = V(repeating: s.k.3)
        let i8 = V(repeating: s.k.4), i9 = V(repeating: s.k.5), i10 = V(repeating: s.k.6), i11 = V(repeating: s.k.7)
        let i14 = V(repeating: s.n.1), i15 = V(repeating: s.n.2)
        let i13 = c13 &+ V(repeating: s.n.0)
        var x0 = i0, x1 = i1, x2 = i2, x3 = i3, x4 = i4, x5 = i5, x6 = i6, x7 = i7
        var x8 = i8, x9 = i9, x10 = i10, x11 = i11, x12 = c12, x13 = i13, x14 = i14, x15 = i15
        for _ in 0..<doubleRounds {
            quarter(&x0, &x4, &x8, &x12); quarter(&x1, &x5, &x9, &x13)
            quarter(&x2, &x6, &x10, &x14); quarter(&x3, &x7, &x11, &x15)
            quarter(&x0, &x5, &x10, &x15); quarter(&x1, &x6, &x11, &x12)
            quarter(&x2, &x7, &x8, &x13); quarter(&x3, &x4, &x9, &x14)
        }
        x0 &+= i0; x1 &+= i1; x2 &+= i2; x3 &+= i3; x4 &+= i4; x5 &+= i5; x6 &+= i6; x7 &+= i7
        x8 &+= i8; x9 &+= i9; x10 &+= i10; x11 &+= i11; x12 &+= c12; x13 &+= i13; x14 &+= i14; x15 &+= i15

        if count == batchBytes {
            group(x0, x1, x2, x3, 0, input, output)
            group(x4, x5, x6, x7, 16, input, output)
            group(x8, x9, x10, x11, 32, input, output)
            group(x12, x13, x14, x15, 48, input, output)
        } else {
            // Tail: copy the remaining bytes to a stack block, XOR the four keystream blocks into it in
            // place, copy the result out (two memcpys instead of a byte loop).
            withUnsafeTemporaryAllocation(byteCount: batchBytes, alignment: 16) { ks in
                ks.initializeMemory(as: UInt8.self, repeating: 0)
                let k = ks.baseAddress!
                k.copyMemory(from: input, byteCount: count)
                group(x0, x1, x2, x3, 0, k, k)
                group(x4, x5, x6, x7, 16, k, k)
                group(x8, x9, x10, x11, 32, k, k)
                group(x12, x13, x14, x15, 48, k, k)
                output.copyMemory(from: k, byteCount: count)
                Memory.wipe(k, count: batchBytes)
            }
        }
    }

    /// Transposes words w..w+3 of the four blocks and XORs them into bytes `offset`… of each block.
    @inline(__always) @usableFromInline
    static func group(_ a: V, _ b: V, _ c: V, _ d: V, _ offset: Int,
                      _ input: UnsafeRawPointer, _ output: UnsafeMutableRawPointer) {
        let rows = (V(a[0], b[0], c[0], d[0]), V(a[1], b[1], c[1], d[1]),
                    V(a[2], b[2], c[2], d[2]), V(a[3], b[3], c[3], d[3]))
        xor16(rows.0, offset, input, output)
        xor16(rows.1, offset + 64, input, output)
        xor16(rows.2, offset + 128, input, output)
        xor16(rows.3, offset + 192, input, output)
    }

    @inline(__always) @usableFromInline
    static func xor16(_ keystream: V, _ offset: Int, _ input: UnsafeRawPointer, _ output: UnsafeMutableRawPointer) {
        let m = input.loadUnaligned(fromByteOffset: offset, as: V.self)
        output.storeBytes(of: m ^ keystream, toByteOffset: offset, as: V.self)
    }

    /// `output = input XOR keystream(key, nonce, counter)`; `output` may equal `input`.
    public static func xor(key: UnsafeRawPointer, nonce: UnsafeRawPointer, counter: UInt32,
                           input: UnsafeRawPointer, output: UnsafeMutableRawPointer, count: Int) {
        stream(Setup(key: key, nonce: nonce), position: UInt64(counter), doubleRounds: 10,
               input: input, output: output, count: count)
    }

    /// The keystream loop shared by ChaCha20 and ChaCha12 (`XChaCha12`).
    @inline(__always) @usableFromInline
    static func stream(_ setup: Setup, position start: UInt64, doubleRounds: Int, input: UnsafeRawPointer,
                       output: UnsafeMutableRawPointer, count: Int) {
        var position = start
        var offset = 0
        while count - offset >= batchBytes {
            batch(setup, position: position, doubleRounds: doubleRounds, input: input + offset, output: output + offset,
                  count: batchBytes)
            offset += batchBytes
            position &+= 4
        }
        if offset < count {
            batch(setup, position: position, doubleRounds: doubleRounds, input: input + offset, output: output + offset,
                  count: count - offset)
        }
    }
}
