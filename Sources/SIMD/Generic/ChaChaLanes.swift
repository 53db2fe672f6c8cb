import CSodium

/// ChaCha's block function on `V.scalarCount` consecutive blocks at once, written once for any width of
/// Swift SIMD vector: 4 lanes (NEON on ARM, SSE2 on x86_64, through `ChaCha20SIMD` in PosternCrypto) and
/// 8 lanes (AVX2 on x86_64 CPUs that have it, through `PosternAVX2`).
///
/// Layout: the blocks are computed "vertically": vector `x[i]` holds state word `i` of blocks n…n+L−1, so
/// each quarter-round is plain lane-wise add/xor/rotate with no shuffles. The only data movement is a
/// transpose per group of four words when the keystream is XORed into the message.
///
/// Counter semantics match libsodium (and OpenSSL): block counter = word 12, and when it wraps the carry
/// goes into word 13. `doubleRounds` is 10 for ChaCha20 and 6 for ChaCha12; callers pass a constant.
public enum ChaChaLanes<V: ChaChaVector> {
    @inlinable public static var batchBytes: Int { 64 * V.lanes }

    @inline(__always) @inlinable
    static func quarter(_ a: inout V, _ b: inout V, _ c: inout V, _ d: inout V) {
        a = .sum(a, b); d = .rotl(.xor(d, a), 16)
        c = .sum(c, d); b = .rotl(.xor(b, c), 12)
        a = .sum(a, b); d = .rotl(.xor(d, a), 8)
        c = .sum(c, d); b = .rotl(.xor(b, c), 7)
    }

    /// Computes L keystream blocks starting at 64-bit block position `position` (word 13 ‖ word 12) and XORs
    /// them into `count` (≤ `batchBytes`) bytes of `input`.
    @inline(__always) @inlinable
    static func batch(_ s: ChaChaSetup, position: UInt64, doubleRounds: Int, input: UnsafeRawPointer,
                      output: UnsafeMutableRawPointer, count: Int) {
        let (c12, c13) = V.counters(position)
        let i0 = V(splat: 0x6170_7865), i1 = V(splat: 0x3320_646e)
        let i2 = V(splat: 0x7962_2d32), i3 = V(splat: 0x6b20_6574)
        let i4 = V(splat: s.k.0), i5 = V(splat: s.k.1), i6 = V(splat: s.k.2), i7 = V(splat: s.k.3)
        let i8 = V(splat: s.k.4), i9 = V(splat: s.k.5), i10 = V(splat: s.k.6), i11 = V(splat: s.k.7)
        let i14 = V(splat: s.n.1), i15 = V(splat: s.n.2)
        let i13 = V.sum(c13, V(splat: s.n.0))
        var x0 = i0, x1 = i1, x2 = i2, x3 = i3, x4 = i4, x5 = i5, x6 = i6, x7 = i7
        var x8 = i8, x9 = i9, x10 = i10, x11 = i11, x12 = c12, x13 = i13, x14 = i14, x15 = i15
        for _ in 0..<doubleRounds {
            quarter(&x0, &x4, &x8, &x12); quarter(&x1, &x5, &x9, &x13)
            quarter(&x2, &x6, &x10, &x14); quarter(&x3, &x7, &x11, &x15)
            quarter(&x0, &x5, &x10, &x15); quarter(&x1, &x6, &x11, &x12)
            quarter(&x2, &x7, &x8, &x13); quarter(&x3, &x4, &x9, &x14)
        }
        x0 = .sum(x0, i0); x1 = .sum(x1, i1); x2 = .sum(x2, i2); x3 = .sum(x3, i3)
        x4 = .sum(x4, i4); x5 = .sum(x5, i5); x6 = .sum(x6, i6); x7 = .sum(x7, i7)
        x8 = .sum(x8, i8); x9 = .sum(x9, i9); x10 = .sum(x10, i10); x11 = .sum(x11, i11)
        x12 = .sum(x12, c12); x13 = .sum(x13, i13); x14 = .sum(x14, i14); x15 = .sum(x15, i15)

        if count == batchBytes {
            group(x0, x1, x2, x3, 0, input, output)
            group(x4, x5, x6, x7, 16, input, output)
            group(x8, x9, x10, x11, 32, input, output)
            group(x12, x13, x14, x15, 48, input, output)
        } else {
            // Tail: copy the remaining bytes to a stack buffer, XOR the keystream blocks into it in place,
            // copy the result out (two memcpys instead of a byte loop).
            withUnsafeTemporaryAllocation(byteCount: batchBytes, alignment: 16) { ks in
                ks.initializeMemory(as: UInt8.self, repeating: 0)
                let k = ks.baseAddress!
                k.copyMemory(from: input, byteCount: count)
                group(x0, x1, x2, x3, 0, k, k)
                group(x4, x5, x6, x7, 16, k, k)
                group(x8, x9, x10, x11, 32, k, k)
                group(x12, x13, x14, x15, 48, k, k)
                output.copyMemory(from: k, byteCount: count)
                sodium_memzero(k, batchBytes)   // keystream past the message's end
            }
        }
    }

    /// Transposes words w..w+3 of the L blocks and XORs them into bytes `offset`… of each block.
    @inline(__always) @inlinable
    static func group(_ a: V, _ b: V, _ c: V, _ d: V, _ offset: Int,
                      _ input: UnsafeRawPointer, _ output: UnsafeMutableRawPointer) {
        for j in 0..<V.lanes {
            let row = SIMD4<UInt32>(a[lane: j], b[lane: j], c[lane: j], d[lane: j])
            let at = offset + 64 * j
            let m = input.loadUnaligned(fromByteOffset: at, as: SIMD4<UInt32>.self)
            output.storeBytes(of: m ^ row, toByteOffset: at, as: SIMD4<UInt32>.self)
        }
    }

    /// XORs the keystream from block position `start` into `count` bytes; `output` may equal `input`.
    @inline(__always) @inlinable
    public static func stream(_ setup: ChaChaSetup, position start: UInt64, doubleRounds: Int, input: UnsafeRawPointer,
                              output: UnsafeMutableRawPointer, count: Int) {
        var position = start
        var offset = 0
        while count - offset >= batchBytes {
            batch(setup, position: position, doubleRounds: doubleRounds, input: input + offset, output: output + offset,
                  count: batchBytes)
            offset += batchBytes
            position &+= UInt64(V.lanes)
        }
        if offset < count {
            batch(setup, position: position, doubleRounds: doubleRounds, input: input + offset, output: output + offset,
                  count: count - offset)
        }
    }
}

/// The key and nonce words of a ChaCha state (words 4–11 and 13–15; word 13 is added to the counter's
/// high half), loaded once per call.
public struct ChaChaSetup {
    public var k: (UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32)
    public var n: (UInt32, UInt32, UInt32)

    @inline(__always) @inlinable
    public init(key k: (UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32), nonce n: (UInt32, UInt32, UInt32)) {
        self.k = k
        self.n = n
    }

    @inline(__always) @inlinable
    public init(key: UnsafeRawPointer, nonce: UnsafeRawPointer) {
        func w(_ p: UnsafeRawPointer, _ i: Int) -> UInt32 {
            UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))
        }
        k = (w(key, 0), w(key, 1), w(key, 2), w(key, 3), w(key, 4), w(key, 5), w(key, 6), w(key, 7))
        n = (w(nonce, 0), w(nonce, 1), w(nonce, 2))
    }
}

/// The lane-wise operations ChaCha needs, implemented by each concrete vector type with its own
/// (builtin) operators: generic code over `SIMD` would reach only the protocol's lane-by-lane defaults.
public protocol ChaChaVector {
    static var lanes: Int { get }
    init(splat: UInt32)
    static func sum(_ a: Self, _ b: Self) -> Self
    static func xor(_ a: Self, _ b: Self) -> Self
    static func rotl(_ a: Self, _ n: UInt32) -> Self
    /// Words 12 and 13 of blocks position, position + 1, …: the 64-bit block counter's halves.
    static func counters(_ position: UInt64) -> (low: Self, high: Self)
    subscript(lane lane: Int) -> UInt32 { get }
}

extension SIMD4: ChaChaVector where Scalar == UInt32 {
    @inlinable public static var lanes: Int { 4 }
    @inline(__always) @inlinable public init(splat: UInt32) { self.init(repeating: splat) }
    @inline(__always) @inlinable public static func sum(_ a: Self, _ b: Self) -> Self { a &+ b }
    @inline(__always) @inlinable public static func xor(_ a: Self, _ b: Self) -> Self { a ^ b }
    /// On ARM `shl|lshr` becomes NEON `shl`+`usra` (and `rev32` for 16). On baseline x86_64 (SSE2) LLVM
    /// turns the same pattern into a vector funnel shift that SSE2 can only do lane by lane (scalar `rol`,
    /// 5× slower overall), so there the left shift is written as a multiply by 2ⁿ, which still compiles to
    /// `pslld` but is not matched as a rotate.
    @inline(__always) @inlinable public static func rotl(_ v: Self, _ n: UInt32) -> Self {
        #if arch(x86_64)
        return (v &* Self(repeating: 1 &<< n)) | (v &>> (32 &- n))
        #else
        return (v &<< n) | (v &>> (32 &- n))
        #endif
    }
    @inline(__always) @inlinable public static func counters(_ position: UInt64) -> (low: Self, high: Self) {
        let lanes = SIMD4<UInt64>(position, position &+ 1, position &+ 2, position &+ 3)
        return (Self(truncatingIfNeeded: lanes), Self(truncatingIfNeeded: lanes &>> 32))
    }
    @inline(__always) @inlinable public subscript(lane lane: Int) -> UInt32 { self[lane] }
}

extension SIMD8: ChaChaVector where Scalar == UInt32 {
    @inlinable public static var lanes: Int { 8 }
    @inline(__always) @inlinable public init(splat: UInt32) { self.init(repeating: splat) }
    @inline(__always) @inlinable public static func sum(_ a: Self, _ b: Self) -> Self { a &+ b }
    @inline(__always) @inlinable public static func xor(_ a: Self, _ b: Self) -> Self { a ^ b }
    /// Used on x86_64 with AVX2, where LLVM makes the rotations by 16 and 8 byte shuffles.
    @inline(__always) @inlinable public static func rotl(_ v: Self, _ n: UInt32) -> Self { (v &<< n) | (v &>> (32 &- n)) }
    @inline(__always) @inlinable public static func counters(_ position: UInt64) -> (low: Self, high: Self) {
        let a = SIMD4<UInt64>(position, position &+ 1, position &+ 2, position &+ 3)
        let b = a &+ SIMD4<UInt64>(repeating: 4)
        return (Self(lowHalf: SIMD4<UInt32>(truncatingIfNeeded: a), highHalf: SIMD4<UInt32>(truncatingIfNeeded: b)),
                Self(lowHalf: SIMD4<UInt32>(truncatingIfNeeded: a &>> 32), highHalf: SIMD4<UInt32>(truncatingIfNeeded: b &>> 32)))
    }
    @inline(__always) @inlinable public subscript(lane lane: Int) -> UInt32 { self[lane] }
}
