import CSodium

/// Argon2id password hashing (libsodium `crypto_pwhash`), for keys derived from a passphrase.
public enum Argon2id {
    public static let saltBytes = 16
    /// libsodium's "interactive" limits: 2 passes over 64 MiB; well under a second on a Raspberry Pi 4.
    public static let interactiveOps: UInt64 = 2
    public static let interactiveMemory = 64 << 20

    public static func derive(passphrase: [UInt8], salt: [UInt8], count: Int = 32,
                              ops: UInt64 = interactiveOps, memory: Int = interactiveMemory) -> [UInt8]? {
        precondition(salt.count == saltBytes)
        Sodium.ready()
        var out = [UInt8](repeating: 0, count: count)
        // A non-null pointer even for an empty passphrase (the extra byte is not hashed).
        var padded = passphrase + [0]
        defer { Memory.wipe(&padded) }
        let rc = padded.withUnsafeBytes { p in
            crypto_pwhash(&out, UInt64(count), p.baseAddress!.assumingMemoryBound(to: CChar.self), UInt64(passphrase.count),
                          salt, ops, memory, crypto_pwhash_ALG_ARGON2ID13)
        }
        return rc == 0 ? out : nil
    }
}
