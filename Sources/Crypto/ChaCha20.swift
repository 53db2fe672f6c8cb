import CSodium

/// ChaCha20 (RFC 8439: 256-bit key, 96-bit nonce, 32-bit block counter) through libsodium.
///
/// Counter semantics match libsodium and OpenSSL: when the 32-bit counter wraps it carries into the first
/// nonce word. `ChaCha20SIMD` reproduces this exactly; `ChaCha20Fast` picks the faster one per CPU.
public enum ChaCha20Sodium {
    public static let keyBytes = 32
    public static let nonceBytes = 12

    /// `output = input XOR keystream(key, nonce, counter)`; `output` may equal `input` (in place).
    @inlinable
    public static func xor(key: UnsafeRawPointer, nonce: UnsafeRawPointer, counter: UInt32,
                           input: UnsafeRawPointer, output: UnsafeMutableRawPointer, count: Int) {
        Sodium.ready()
        crypto_stream_chacha20_ietf_xor_ic(output.assumingMemoryBound(to: UInt8.self),
                                           input.assumingMemoryBound(to: UInt8.self), UInt64(count),
                                           nonce.assumingMemoryBound(to: UInt8.self), counter,
                                           key.assumingMemoryBound(to: UInt8.self))
    }
}

/// The ChaCha20 implementation the hot paths use, chosen at compile time per architecture.
///
/// On ARM libsodium 1.0.18 has only scalar ChaCha20, so the Swift SIMD version (NEON) wins; on x86_64
/// libsodium has hand-written AVX2/SSSE3 code, which `postern-bench crypto` shows to be faster there.
#if arch(arm64) || arch(arm)
public typealias ChaCha20Fast = ChaCha20SIMD
#else
public typealias ChaCha20Fast = ChaCha20Sodium
#endif

extension ChaCha20Sodium {
    /// Convenience for tests and cold paths.
    public static func xor(key: [UInt8], nonce: [UInt8], counter: UInt32, _ input: [UInt8]) -> [UInt8] {
        precondition(key.count == keyBytes && nonce.count == nonceBytes)
        var output = [UInt8](repeating: 0, count: input.count)
        if input.isEmpty { return output }
        key.withUnsafeBytes { k in nonce.withUnsafeBytes { n in input.withUnsafeBytes { i in
            output.withUnsafeMutableBytes { o in
                xor(key: k.baseAddress!, nonce: n.baseAddress!, counter: counter,
                    input: i.baseAddress!, output: o.baseAddress!, count: i.count)
            }
        } } }
        return output
    }
}
