import CSodium

/// Streaming HMAC-SHA256 over libsodium's state, for callers (HKDF, ratchets) that hash several pieces
/// without concatenating them into a heap buffer.
public struct HMACState {
    @usableFromInline var state = crypto_auth_hmacsha256_state()

    @inlinable
    public init(key: UnsafeRawPointer?, keyCount: Int) {
        Sodium.ready()
        var empty: UInt8 = 0
        crypto_auth_hmacsha256_init(&state, key?.assumingMemoryBound(to: UInt8.self) ?? withUnsafePointer(to: &empty) { $0 },
                                    keyCount)
    }

    @inlinable
    public mutating func update(_ bytes: UnsafeRawPointer, _ count: Int) {
        crypto_auth_hmacsha256_update(&state, bytes.assumingMemoryBound(to: UInt8.self), UInt64(count))
    }

    /// Writes the 32-byte MAC and wipes the state.
    @inlinable
    public mutating func finish(into output: UnsafeMutableRawPointer) {
        crypto_auth_hmacsha256_final(&state, output.assumingMemoryBound(to: UInt8.self))
        withUnsafeMutableBytes(of: &state) { Memory.wipe($0.baseAddress!, count: $0.count) }
    }
}
