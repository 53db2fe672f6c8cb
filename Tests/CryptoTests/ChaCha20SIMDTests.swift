import PosternCrypto
import Testing

/// The Swift SIMD ChaCha20 must be byte-identical to libsodium for every length and counter edge case.
@Suite struct ChaCha20SIMDTests {
    /// Starting counters around the 32-bit wrap, where libsodium carries into the first nonce word.
    static let edgeCounters: [UInt32] = [0, 1, 2, 3, 4, 0x7fff_ffff, 0xffff_fffc, 0xffff_fffd, 0xffff_fffe, 0xffff_ffff]

    @Test func everyLengthUpTo4KiB() {
        let key = Random.bytes(32), nonce = Random.bytes(12)
        let message = Random.bytes(4096)
        for length in 0...4096 {
            let counter = Self.edgeCounters[length % Self.edgeCounters.count]
            let input = Array(message[0..<length])
            let expected = ChaCha20Sodium.xor(key: key, nonce: nonce, counter: counter, input)
            let actual = ChaCha20SIMD.xor(key: key, nonce: nonce, counter: counter, input)
            #expect(actual == expected, "length \(length), counter \(counter)")
            if actual != expected { return }
        }
    }

    @Test(arguments: edgeCounters)
    func fullLengthAtEdgeCounter(counter: UInt32) {
        let key = Random.bytes(32), nonce = Random.bytes(12), input = Random.bytes(4096 + 17)
        #expect(ChaCha20SIMD.xor(key: key, nonce: nonce, counter: counter, input)
                == ChaCha20Sodium.xor(key: key, nonce: nonce, counter: counter, input))
    }

    @Test func nonceWordCarryMatchesLibsodium() {
        // Nonce word 0 = 0xffffffff and counter wrapping: the carry itself wraps.
        let key = Random.bytes(32), nonce: [UInt8] = [0xff, 0xff, 0xff, 0xff] + Random.bytes(8)
        let input = Random.bytes(600)
        #expect(ChaCha20SIMD.xor(key: key, nonce: nonce, counter: 0xffff_fffe, input)
                == ChaCha20Sodium.xor(key: key, nonce: nonce, counter: 0xffff_fffe, input))
    }

    @Test func inPlace() {
        let key = Random.bytes(32), nonce = Random.bytes(12)
        let original = Random.bytes(777)
        var buffer = original
        key.withUnsafeBytes { k in nonce.withUnsafeBytes { n in buffer.withUnsafeMutableBytes { b in
            ChaCha20SIMD.xor(key: k.baseAddress!, nonce: n.baseAddress!, counter: 9,
                             input: UnsafeRawPointer(b.baseAddress!), output: b.baseAddress!, count: b.count)
        } } }
        #expect(buffer == ChaCha20Sodium.xor(key: key, nonce: nonce, counter: 9, original))
    }
}
