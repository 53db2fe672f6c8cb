import PosternCrypto
import PosternSystem
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

/// Every kernel width this CPU runs (four lanes everywhere; eight with AVX2 on x86_64) gives the same
/// stream: ChaCha20 against libsodium, XChaCha12 against the four-lane kernel, at every length.
@Suite struct ChaChaLaneWidthTests {
    @Test(arguments: ChaCha20SIMD.available)
    func chaCha20EveryLengthMatchesLibsodium(lanes: ChaCha20SIMD.Lanes) {
        let key = Random.bytes(32), nonce = Random.bytes(12), message = Random.bytes(4096 + 64)
        for length in 0...(4096 + 64) {
            let counter = ChaCha20SIMDTests.edgeCounters[length % ChaCha20SIMDTests.edgeCounters.count]
            let input = Array(message[0..<length])
            let expected = ChaCha20Sodium.xor(key: key, nonce: nonce, counter: counter, input)
            let actual = ChaCha20SIMD.xor(key: key, nonce: nonce, counter: counter, input, lanes: lanes)
            #expect(actual == expected, "\(lanes) lanes, length \(length), counter \(counter)")
            if actual != expected { return }
        }
    }

    @Test func xChaCha12WidthsAgreeAtEveryLength() {
        let key = Random.bytes(32), nonce = Random.bytes(24), message = Random.bytes(4096 + 64)
        for length in 0...(4096 + 64) {
            let input = Array(message[0..<length])
            let four = XChaCha12.xor(key: key, nonce: nonce, input, lanes: .four)
            for lanes in ChaCha20SIMD.available {
                let actual = XChaCha12.xor(key: key, nonce: nonce, input, lanes: lanes)
                #expect(actual == four, "\(lanes) lanes, length \(length)")
                if actual != four { return }
            }
            // The default path (which picks a width by length) is the same stream.
            #expect(XChaCha12.xor(key: key, nonce: nonce, input) == four)
        }
    }

    @Test func theHostReportsItsWidths() {
        #expect(ChaCha20SIMD.available.first == .four)
        #if arch(x86_64)
        #expect(ChaCha20SIMD.available.contains(.eight) == CPU.hasAVX2)
        #else
        #expect(ChaCha20SIMD.available == [.four])
        #endif
    }
}
