/// NH (Black et al., UMAC), as Adiantum uses it: an ε-almost-∆-universal hash of up to 1 024 bytes into
/// 32 bytes, four passes with the key shifted by 16 bytes each.
///
///     for pass p in 0..<4, over message words m[i…i+3] (i = 0, 4, 8, …):
///       sum_p += (m[i] + k[i+4p]) · (m[i+2] + k[i+2+4p]) + (m[i+1] + k[i+1+4p]) · (m[i+3] + k[i+3+4p])
///     (32-bit additions, 32×32→64-bit products, 64-bit sums; output le64(sum_0) ‖ … ‖ le64(sum_3))
///
/// Written once with Swift SIMD types: per 16 message bytes, four 4-lane additions (one per pass) and four
/// 2-lane widening multiply-accumulates — NEON `umlal` on ARM, `pmuludq` on x86_64. The key window slides
/// by one 16-byte load per step. A message whose length is not a multiple of 16 is zero-padded.
public enum NH {
    public static let keyBytes = 1072
    public static let outputBytes = 32
    public static let maximumBytes = 1024

    @usableFromInline typealias V = SIMD4<UInt32>
    @usableFromInline typealias W = SIMD2<UInt64>

    /// Hashes `count` (≤ 1 024) bytes of `message` with `key` (1 072 bytes) into 32 bytes at `out`.
    @inline(__always)
    public static func hash(key: UnsafeRawPointer, message: UnsafeRawPointer, count: Int, into out: UnsafeMutableRawPointer) {
        precondition(count <= maximumBytes)
        var a0 = W(), a1 = W(), a2 = W(), a3 = W()
        var k0 = key.loadUnaligned(as: V.self), k1 = key.loadUnaligned(fromByteOffset: 16, as: V.self)
        var k2 = key.loadUnaligned(fromByteOffset: 32, as: V.self)

        /// One 16-byte message block m against the key window (k0, k1, k2, k3) of passes 0…3.
        @inline(__always)
        func accumulate(_ m: V, _ k0: V, _ k1: V, _ k2: V, _ k3: V) {
            let t0 = m &+ k0, t1 = m &+ k1, t2 = m &+ k2, t3 = m &+ k3
            a0 &+= W(truncatingIfNeeded: t0.lowHalf) &* W(truncatingIfNeeded: t0.highHalf)
            a1 &+= W(truncatingIfNeeded: t1.lowHalf) &* W(truncatingIfNeeded: t1.highHalf)
            a2 &+= W(truncatingIfNeeded: t2.lowHalf) &* W(truncatingIfNeeded: t2.highHalf)
            a3 &+= W(truncatingIfNeeded: t3.lowHalf) &* W(truncatingIfNeeded: t3.highHalf)
        }

        @inline(__always)
        func step(_ m: V, _ k3: V) {
            accumulate(m, k0, k1, k2, k3)
            k0 = k1; k1 = k2; k2 = k3
        }

        let whole = count & ~15
        var i = 0
        // Four blocks at a time: the key window slides through registers without moves between blocks.
        while i + 64 <= whole {
            let k3 = key.loadUnaligned(fromByteOffset: i + 48, as: V.self), k4 = key.loadUnaligned(fromByteOffset: i + 64, as: V.self)
            let k5 = key.loadUnaligned(fromByteOffset: i + 80, as: V.self), k6 = key.loadUnaligned(fromByteOffset: i + 96, as: V.self)
            accumulate(message.loadUnaligned(fromByteOffset: i, as: V.self), k0, k1, k2, k3)
            accumulate(message.loadUnaligned(fromByteOffset: i + 16, as: V.self), k1, k2, k3, k4)
            accumulate(message.loadUnaligned(fromByteOffset: i + 32, as: V.self), k2, k3, k4, k5)
            accumulate(message.loadUnaligned(fromByteOffset: i + 48, as: V.self), k3, k4, k5, k6)
            k0 = k4; k1 = k5; k2 = k6
            i += 64
        }
        while i < whole {
            step(message.loadUnaligned(fromByteOffset: i, as: V.self), key.loadUnaligned(fromByteOffset: i + 48, as: V.self))
            i += 16
        }
        if whole < count {
            var padded = V()
            withUnsafeMutableBytes(of: &padded) { $0.baseAddress!.copyMemory(from: message + whole, byteCount: count - whole) }
            step(padded, key.loadUnaligned(fromByteOffset: whole + 48, as: V.self))
        }
        out.storeBytes(of: (a0[0] &+ a0[1]).littleEndian, as: UInt64.self)
        out.storeBytes(of: (a1[0] &+ a1[1]).littleEndian, toByteOffset: 8, as: UInt64.self)
        out.storeBytes(of: (a2[0] &+ a2[1]).littleEndian, toByteOffset: 16, as: UInt64.self)
        out.storeBytes(of: (a3[0] &+ a3[1]).littleEndian, toByteOffset: 24, as: UInt64.self)
    }

    /// Array form for tests.
    public static func hash(key: [UInt8], _ message: [UInt8]) -> [UInt8] {
        precondition(key.count == keyBytes && message.count <= maximumBytes)
        var out = [UInt8](repeating: 0, count: outputBytes)
        key.withUnsafeBytes { k in message.withUnsafeBytes { m in out.withUnsafeMutableBytes { o in
            hash(key: k.baseAddress!, message: m.baseAddress ?? k.baseAddress!, count: m.count, into: o.baseAddress!)
        } } }
        return out
    }
}
