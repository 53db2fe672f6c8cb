import CSodium

/// The two interchangeable ChaCha20 implementations (`ChaCha20Sodium`, `ChaCha20SIMD`): same stream,
/// same counter semantics, so `ChaCha20Fast` can be either.
public protocol ChaCha20Implementation {
    /// `output = input XOR keystream(key, nonce, counter)`; `output` may equal `input`.
    static func xor(key: UnsafeRawPointer, nonce: UnsafeRawPointer, counter: UInt32,
                    input: UnsafeRawPointer, output: UnsafeMutableRawPointer, count: Int)
}

extension ChaCha20Implementation {
    /// Array form for tests and cold paths.
    public static func xor(key: [UInt8], nonce: [UInt8], counter: UInt32, _ input: [UInt8]) -> [UInt8] {
        precondition(key.count == 32 && nonce.count == 12)
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

/// ChaCha20 (RFC 8439: 256-bit key, 96-bit nonce, 32-bit block counter) through libsodium.
///
/// Counter semantics are OpenSSL's: when the 32-bit counter wraps it carries into the first nonce word.
/// `ChaCha20SIMD` computes exactly the same stream; `ChaCha20Fast` picks the faster one per CPU.
public enum ChaCha20Sodium: ChaCha20Implementation {
    public static let keyBytes = 32
    public static let nonceBytes = 12

    /// `output = input XOR keystream(key, nonce, counter)`; `output` may equal `input` (in place).
    ///
    /// libsodium's IETF function aborts the process rather than let the 32-bit counter wrap. Postern's
    /// ChaCha20 instead treats words 12–13 as one 64-bit block position (OpenSSL's behaviour, and what the
    /// pyca vectors expect), so a call that would cross the wrap is split there and continues with
    /// counter 0 and the first nonce word incremented.
    @inlinable
    public static func xor(key: UnsafeRawPointer, nonce: UnsafeRawPointer, counter: UInt32,
                           input: UnsafeRawPointer, output: UnsafeMutableRawPointer, count: Int) {
        Sodium.ready()
        let bytesBeforeWrap = (UInt64(1) << 32 - UInt64(counter)) * 64
        let first = UInt64(count) <= bytesBeforeWrap ? count : Int(bytesBeforeWrap)
        crypto_stream_chacha20_ietf_xor_ic(output.assumingMemoryBound(to: UInt8.self),
                                           input.assumingMemoryBound(to: UInt8.self), UInt64(first),
                                           nonce.assumingMemoryBound(to: UInt8.self), counter,
                                           key.assumingMemoryBound(to: UInt8.self))
        guard first < count else { return }
        var carried = (UInt32(0), UInt32(0), UInt32(0))
        withUnsafeMutableBytes(of: &carried) { n in
            n.baseAddress!.copyMemory(from: nonce, byteCount: 12)
            let word0 = UInt32(littleEndian: n.load(as: UInt32.self)) &+ 1
            n.storeBytes(of: word0.littleEndian, as: UInt32.self)
            crypto_stream_chacha20_ietf_xor_ic(output.advanced(by: first).assumingMemoryBound(to: UInt8.self),
                                               input.advanced(by: first).assumingMemoryBound(to: UInt8.self),
                                               UInt64(count - first), n.baseAddress!.assumingMemoryBound(to: UInt8.self),
                                               0, key.assumingMemoryBound(to: UInt8.self))
        }
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
