import PosternSIMD
import PosternSystem
#if canImport(PosternAVX2)
import PosternAVX2
#endif

/// ChaCha20 (RFC 8439) written with Swift SIMD types: the block function is `ChaChaLanes` (PosternSIMD),
/// four blocks at a time — NEON on ARM, SSE2 on x86_64 — or, on x86_64 CPUs with AVX2, eight at a time
/// through `ChaChaAVX2` (chosen at run time: the host build's baseline is SSE2).
///
/// Counter semantics match `ChaCha20Sodium` (and OpenSSL): block counter = word 12, and when it wraps the
/// carry goes into word 13 (the first nonce word). Tests check byte equality with libsodium for every
/// length 0…4 KiB and counters around 2³², on both x86 paths.
public enum ChaCha20SIMD: ChaCha20Implementation {
    public static let blockBytes = 64
    public typealias Setup = ChaChaSetup

    /// The kernel widths: four lanes everywhere, eight with AVX2 (x86_64 only).
    public enum Lanes: Sendable { case four, eight }

    /// The widths this CPU can run, narrowest first.
    public static let available: [Lanes] = wide ? [.four, .eight] : [.four]

    /// Whether `stream` uses the eight-lane kernel: an x86-64 CPU with AVX2.
    @usableFromInline static let wide: Bool = {
        #if canImport(PosternAVX2)
        return CPU.hasAVX2
        #else
        return false
        #endif
    }()

    /// `output = input XOR keystream(key, nonce, counter)`; `output` may equal `input`.
    public static func xor(key: UnsafeRawPointer, nonce: UnsafeRawPointer, counter: UInt32,
                           input: UnsafeRawPointer, output: UnsafeMutableRawPointer, count: Int) {
        stream(Setup(key: key, nonce: nonce), position: UInt64(counter), doubleRounds: 10,
               input: input, output: output, count: count)
    }

    /// The keystream loop shared by ChaCha20 and ChaCha12 (`XChaCha12`): eight lanes where the CPU has
    /// AVX2 and the message fills at least one eight-block batch, else four.
    @inline(__always) @usableFromInline
    static func stream(_ setup: Setup, position: UInt64, doubleRounds: Int, input: UnsafeRawPointer,
                       output: UnsafeMutableRawPointer, count: Int) {
        stream(setup, position: position, doubleRounds: doubleRounds, input: input, output: output, count: count,
               lanes: wide && count >= 512 ? .eight : .four)
    }

    /// The same with the width chosen by the caller (tests compare the two); `.eight` needs AVX2.
    @inline(__always) @usableFromInline
    static func stream(_ setup: Setup, position: UInt64, doubleRounds: Int, input: UnsafeRawPointer,
                       output: UnsafeMutableRawPointer, count: Int, lanes: Lanes) {
        #if canImport(PosternAVX2)
        if lanes == .eight {
            precondition(wide, "eight ChaCha lanes need AVX2")
            ChaChaAVX2.stream(setup, position: position, doubleRounds: doubleRounds, input: input, output: output, count: count)
            return
        }
        #endif
        ChaChaLanes<SIMD4<UInt32>>.stream(setup, position: position, doubleRounds: doubleRounds, input: input,
                                          output: output, count: count)
    }

    /// Array form with a chosen width, for tests.
    public static func xor(key: [UInt8], nonce: [UInt8], counter: UInt32, _ input: [UInt8], lanes: Lanes) -> [UInt8] {
        precondition(key.count == 32 && nonce.count == 12)
        var output = input
        if input.isEmpty { return output }
        key.withUnsafeBytes { k in nonce.withUnsafeBytes { n in output.withUnsafeMutableBytes { o in
            stream(Setup(key: k.baseAddress!, nonce: n.baseAddress!), position: UInt64(counter), doubleRounds: 10,
                   input: o.baseAddress!, output: o.baseAddress!, count: o.count, lanes: lanes)
        } } }
        return output
    }
}
