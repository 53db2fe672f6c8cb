import CSodium

/// BLAKE2b (RFC 7693), optionally keyed (a MAC/PRF with keys up to 64 bytes), output 1…64 bytes.
public enum BLAKE2b {
    public static let maxKeyBytes = 64
    public static let maxOutputBytes = 64

    @inlinable
    public static func hash(key: UnsafeRawPointer?, keyCount: Int, message: UnsafeRawPointer?, count: Int,
                            output: UnsafeMutableRawPointer, outputCount: Int) {
        Sodium.ready()
        crypto_generichash_blake2b(output.assumingMemoryBound(to: UInt8.self), outputCount,
                                   message?.assumingMemoryBound(to: UInt8.self), UInt64(count),
                                   key?.assumingMemoryBound(to: UInt8.self), keyCount)
    }

    public static func hash(key: [UInt8] = [], _ message: [UInt8], outputCount: Int = 64) -> [UInt8] {
        precondition(key.count <= maxKeyBytes && outputCount >= 1 && outputCount <= maxOutputBytes)
        var out = [UInt8](repeating: 0, count: outputCount)
        key.withUnsafeBytes { k in message.withUnsafeBytes { m in out.withUnsafeMutableBytes { o in
            hash(key: k.baseAddress, keyCount: k.count, message: m.baseAddress, count: m.count,
                 output: o.baseAddress!, outputCount: outputCount)
        } } }
        return out
    }

    /// Incremental hashing (Noise's HASH and HMAC-BLAKE2b). libsodium's state must be 64-byte aligned,
    /// which Swift cannot express for a stored property, so the state lives in one aligned heap block
    /// per hasher (handshakes, not the per-packet path). Reusable after `finish` via `reset`.
    public final class Hasher {
        @usableFromInline let state: UnsafeMutableRawPointer
        @usableFromInline let size: Int
        public private(set) var outputCount: Int

        public init(key: UnsafeRawBufferPointer? = nil, outputCount: Int = 64) {
            Sodium.ready()
            size = crypto_generichash_blake2b_statebytes()
            state = .allocate(byteCount: size, alignment: 64)
            self.outputCount = outputCount
            reset(key: key, outputCount: outputCount)
        }

        deinit {
            Memory.wipe(state, count: size)
            state.deallocate()
        }

        public func reset(key: UnsafeRawBufferPointer? = nil, outputCount: Int = 64) {
            self.outputCount = outputCount
            crypto_generichash_blake2b_init(OpaquePointer(state),
                                            key?.baseAddress?.assumingMemoryBound(to: UInt8.self),
                                            key?.count ?? 0, outputCount)
        }

        public func update(_ bytes: UnsafeRawBufferPointer) {
            crypto_generichash_blake2b_update(OpaquePointer(state),
                                              bytes.baseAddress?.assumingMemoryBound(to: UInt8.self),
                                              UInt64(bytes.count))
        }

        public func update(_ bytes: [UInt8]) { bytes.withUnsafeBytes { update($0) } }

        /// Writes `outputCount` bytes and wipes the state.
        public func finish(into output: UnsafeMutableRawPointer) {
            crypto_generichash_blake2b_final(OpaquePointer(state), output.assumingMemoryBound(to: UInt8.self),
                                             outputCount)
            Memory.wipe(state, count: size)
        }

        public func finish() -> [UInt8] {
            var out = [UInt8](repeating: 0, count: outputCount)
            out.withUnsafeMutableBytes { finish(into: $0.baseAddress!) }
            return out
        }
    }
}
