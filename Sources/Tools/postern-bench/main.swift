import PosternCrypto
let key = Random.bytes(32), nonce = Random.bytes(12), input = Random.bytes(4096 + 17)
for c: UInt32 in [0, 0xffff_fffe] {
print(ChaCha20SIMD.xor(key: key, nonce: nonce, counter: c, input) == ChaCha20Sodium.xor(key: key, nonce: nonce, counter: c, input))
}
