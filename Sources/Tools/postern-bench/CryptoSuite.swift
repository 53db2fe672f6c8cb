import PosternCrypto
import PosternPacket

/// Suite `crypto`: the primitives every packet pays for, on this machine.
///
/// `chacha20-simd-2k` against `chacha20-libsodium-2k` decides which ChaCha20 the packet path uses per
/// architecture (`ChaCha20Fast`); `x25519` is the yardstick the packet suite's `unwrap` is held to.
func cryptoSuite() -> Suite {
    Suite(name: "crypto") {
        let key = bufferOf(32, fill: 7), nonce = bufferOf(24, fill: 9)
        let data = bufferOf(2048 + 64, fill: 1)
        let point = bufferOf(32), scalar = bufferOf(32, fill: 0x42)
        let workspace = bufferOf(Adiantum.workspaceBytes), nhKey = bufferOf(NH.keyBytes, fill: 5)
        let schedule = bufferOf(AES256.scheduleBytes)
        Random.fill(point, count: 32)
        X25519.publicKey(secret: scalar, into: point)

        return [
            // One variable-base scalar multiplication (what a relay does per hop), its output chained into
            // the next input so no call can be hoisted or skipped.
            .timed("x25519") { n in
                for _ in 0..<n {
                    try? X25519.sharedSecret(secret: scalar, publicKey: point, into: data)
                    point.copyMemory(from: data, byteCount: 32)
                }
                blackHole(point)
            },
            .timed("chacha20-libsodium-2k") { n in
                for _ in 0..<n {
                    ChaCha20Sodium.xor(key: key, nonce: nonce, counter: 1, input: data, output: data, count: 2048)
                }
                blackHole(data)
            },
            .timed("chacha20-simd-2k", baseline: "chacha20-libsodium-2k") { n in
                for _ in 0..<n {
                    ChaCha20SIMD.xor(key: key, nonce: nonce, counter: 1, input: data, output: data, count: 2048)
                }
                blackHole(data)
            },
            // Adiantum over a 2 KiB payload, as a relay applies it per hop (key schedule included: every
            // packet has a fresh key). Held to one ChaCha20 pass over the same bytes.
            .timed("adiantum-2k", baseline: "chacha20-libsodium-2k") { n in
                for _ in 0..<n {
                    Adiantum.encrypt(key: key, tweak: nil, tweakCount: 0, data: data, count: 2048, workspace: workspace)
                }
                blackHole(data)
            },
            // The payload cipher of packet format v1, for comparison (one release).
            .timed("lioness-2k", baseline: "chacha20-libsodium-2k") { n in
                for _ in 0..<n {
                    Lioness.decrypt(data, count: 2048, keys: nhKey, scratch: data + 2048)
                }
                blackHole(data)
            },
            .timed("xchacha12-2k", baseline: "chacha20-libsodium-2k") { n in
                for _ in 0..<n { XChaCha12.xor(key: key, nonce: nonce, input: data, output: data, count: 2048) }
                blackHole(data)
            },
            .timed("nh-2k") { n in
                for _ in 0..<n {
                    NH.hash(key: nhKey, message: data, count: 1024, into: data + 2048)
                    NH.hash(key: nhKey, message: data + 1024, count: 1024, into: data + 2048)
                }
                blackHole(data)
            },
            // One AES-256 block with its key schedule, bitsliced (what Adiantum pays per message); the
            // relay's direction, encryption, expands the key on the fly.
            .timed("aes256-block") { n in
                for _ in 0..<n { AES256.encrypt(key: key, block: data) }
                blackHole(data)
            },
            .timed("aes256-block-decrypt", baseline: "aes256-block") { n in
                for _ in 0..<n {
                    AES256.expand(key: key, into: schedule)
                    AES256.decrypt(schedule: schedule, block: data)
                }
                blackHole(data)
            },
            .timed("blake2b-keyed-2k") { n in
                for _ in 0..<n {
                    BLAKE2b.hash(key: key, keyCount: 32, message: data, count: 2048, output: data, outputCount: 32)
                }
                blackHole(data)
            },
            .timed("aead-2k") { n in
                for _ in 0..<n {
                    ChaChaPoly.seal(key: key, nonce: nonce, ad: nil, adCount: 0, plaintext: data, count: 2048,
                                    output: data)
                }
                blackHole(data)
            },
            .timed("hkdf-sha256-32") { n in
                let info = UnsafeRawBufferPointer(start: nonce, count: 16)
                for _ in 0..<n {
                    try? HKDF.derive(salt: UnsafeRawBufferPointer(start: key, count: 32),
                                     ikm: UnsafeRawBufferPointer(start: data, count: 32), info: info,
                                     output: data, count: 32)
                }
                blackHole(data)
            },
        ]
    }
}
