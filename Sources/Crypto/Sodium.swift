import CSodium

/// libsodium's one-time initialisation (CPU feature detection, RNG). Every entry point that reaches
/// libsodium calls `Sodium.ready()` first; after the first call it is one load and branch.
public enum Sodium {
    nonisolated(unsafe) private static var initialised = false

    @inline(__always)
    public static func ready() {
        if !initialised { initialise() }
    }

    private static func initialise() {
        precondition(sodium_init() >= 0, "libsodium failed to initialise")
        initialised = true
    }

    public static var version: String {
        String(cString: sodium_version_string())
    }
}

#if _endian(big)
#error("Postern's packet and SIMD code assume a little-endian CPU (aarch64, armv7, x86_64 all are).")
#endif
