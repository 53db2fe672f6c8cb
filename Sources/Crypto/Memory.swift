import CSodium

/// Constant-time comparison and secure zeroing. Secrets must never be compared with `==` (early exit
/// leaks the position of the first difference) or cleared with a plain store (the compiler may drop it).
public enum Memory {
    /// True when the two regions hold the same bytes; time depends only on `count`.
    @inlinable
    public static func equal(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer, count: Int) -> Bool {
        sodium_memcmp(a, b, count) == 0
    }

    public static func equal(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        if a.isEmpty { return true }
        return a.withUnsafeBytes { x in b.withUnsafeBytes { y in equal(x.baseAddress!, y.baseAddress!, count: a.count) } }
    }

    /// Overwrites `count` bytes with zeros in a way the optimiser cannot remove.
    @inlinable
    public static func wipe(_ pointer: UnsafeMutableRawPointer, count: Int) {
        sodium_memzero(pointer, count)
    }

    public static func wipe(_ bytes: inout [UInt8]) {
        bytes.withUnsafeMutableBytes { if let base = $0.baseAddress { sodium_memzero(base, $0.count) } }
    }
}

/// Cryptographically secure random bytes from the kernel (getrandom via libsodium).
public enum Random {
    @inlinable
    public static func fill(_ pointer: UnsafeMutableRawPointer, count: Int) {
        Sodium.ready()
        randombytes_buf(pointer, count)
    }

    public static func bytes(_ count: Int) -> [UInt8] {
        var result = [UInt8](repeating: 0, count: count)
        result.withUnsafeMutableBytes { if let base = $0.baseAddress { fill(base, count: $0.count) } }
        return result
    }

    /// A uniform integer in 0..<bound.
    public static func uniform(_ bound: UInt32) -> UInt32 {
        Sodium.ready()
        return randombytes_uniform(bound)
    }

    /// A uniform 64-bit value.
    public static func uint64() -> UInt64 {
        var value: UInt64 = 0
        withUnsafeMutableBytes(of: &value) { fill($0.baseAddress!, count: 8) }
        return value
    }
}
