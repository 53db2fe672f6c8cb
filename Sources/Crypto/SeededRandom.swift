/// A deterministic random generator: the ChaCha20 keystream of a 32-byte seed. For golden test vectors
/// and reproducible simulations only; real keys come from `Random` (the kernel).
public final class SeededRandom {
    private let seed: UnsafeMutableRawPointer
    private var counter: UInt32 = 0
    private var buffer = [UInt8](repeating: 0, count: 64)
    private var used = 64

    public init(seed: [UInt8]) {
        precondition(seed.count == 32)
        self.seed = .allocate(byteCount: 32, alignment: 16)
        seed.withUnsafeBytes { self.seed.copyMemory(from: $0.baseAddress!, byteCount: 32) }
    }

    deinit {
        Memory.wipe(seed, count: 32)
        seed.deallocate()
    }

    public func fill(_ out: UnsafeMutableRawPointer, count: Int) {
        for i in 0..<count {
            if used == 64 { refill() }
            out.storeBytes(of: buffer[used], toByteOffset: i, as: UInt8.self)
            used += 1
        }
    }

    private func refill() {
        let nonce = [UInt8](repeating: 0, count: 12)
        let zeros = [UInt8](repeating: 0, count: 64)
        buffer.withUnsafeMutableBytes { b in nonce.withUnsafeBytes { n in zeros.withUnsafeBytes { z in
            ChaCha20Sodium.xor(key: seed, nonce: n.baseAddress!, counter: counter, input: z.baseAddress!,
                               output: b.baseAddress!, count: 64)
        } } }
        counter &+= 1
        used = 0
    }

    public func bytes(_ count: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        out.withUnsafeMutableBytes { if count > 0 { fill($0.baseAddress!, count: count) } }
        return out
    }
}
