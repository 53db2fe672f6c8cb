// swift-tools-version: 6.1
// Postern: mix-network relay and personal mailbox for small ARM Linux boards.
//
// Every shipped target builds twice: normally on the host, and as Embedded Swift for aarch64/armv7 Linux
// (see cross/). Shipped modules therefore use no Foundation, Dispatch or Glibc; libc is reached only
// through Sources/Seams/CSystem. Test targets are host-only and may use anything.
import PackageDescription

/// cross/build sets POSTERN_CROSS: the fuzzing targets are host-only tools and are left out of ARM builds.
let hostOnly = Context.environment["POSTERN_CROSS"] == nil

/// Fuzzing (host only, docs/FUZZING.md): every parser that takes bytes from the network, the disk or a
/// person, as targets (PosternFuzz) and a driver (postern-fuzz) that cross/fuzz builds with libFuzzer.
let fuzzTargets: [Target] = [
    .target(name: "CFuzzer", path: "Sources/Seams/CFuzzer"),
    .target(name: "PosternFuzz",
            dependencies: ["PosternChat", "PosternClient", "PosternCover", "PosternNode", "PosternNetwork", "PosternLink",
                           "PosternRatchet", "PosternPacket", "PosternCrypto", "PosternSystem"],
            path: "Sources/Tools/PosternFuzz"),
    .executableTarget(name: "PosternFuzzCLI", dependencies: ["PosternFuzz", "CFuzzer", "PosternCrypto", "PosternSystem"],
                      path: "Sources/Tools/postern-fuzz"),
]

/// x86-64 host builds also compile the SIMD kernels for AVX2 (`-target-cpu haswell`, that module only);
/// PosternCrypto calls them only when the CPU has AVX2 (`CPU.hasAVX2`). ARM builds have no such module.
#if arch(x86_64)
let avx2 = hostOnly
#else
let avx2 = false
#endif
let avx2Targets: [Target] = avx2 ? [
    .target(name: "PosternAVX2", dependencies: ["PosternSIMD"], path: "Sources/SIMD/AVX2",
            swiftSettings: [.unsafeFlags(["-target-cpu", "haswell"]), .unsafeFlags(["-O"], .when(configuration: .debug))]),
] : []
let avx2Dependency: [Target.Dependency] = avx2 ? ["PosternAVX2"] : []

/// Data flows one way through the tree: C seams → System → Crypto → … → Tools.
let package = Package(
    name: "Postern",
    products: [
        .executable(name: "postern", targets: ["PosternCLI"]),
        .executable(name: "postern-bench", targets: ["PosternBench"]),
        .executable(name: "postern-crashtest", targets: ["PosternCrashTest"]),
    ] + (hostOnly ? [.executable(name: "postern-fuzz", targets: ["PosternFuzzCLI"])] : []),
    targets: [
        // C seams: the only places C is reached from Swift.
        .systemLibrary(name: "CSodium", path: "Sources/Seams/CSodium", pkgConfig: "libsodium",
                       providers: [.apt(["libsodium-dev"])]),
        .systemLibrary(name: "CSecp256k1", path: "Sources/Seams/CSecp256k1", pkgConfig: "libsecp256k1",
                       providers: [.apt(["libsecp256k1-dev"])]),
        .systemLibrary(name: "CLMDB", path: "Sources/Seams/CLMDB", pkgConfig: "lmdb",
                       providers: [.apt(["liblmdb-dev"])]),
        .target(name: "CSystem", path: "Sources/Seams/CSystem"),
        .target(name: "CAllocCounter", path: "Sources/Seams/CAllocCounter"),

        // Typed Swift over the libc seam: clocks, files, arguments, output.
        .target(name: "PosternSystem", dependencies: ["CSystem"], path: "Sources/System",
                linkerSettings: [.linkedLibrary("m")]),
        // SIMD kernels written once for any vector width (ChaCha's block function), and the same kernels
        // compiled for AVX2 (x86-64 host builds only; chosen at run time by CPU).
        .target(name: "PosternSIMD", dependencies: ["CSodium"], path: "Sources/SIMD/Generic",
                swiftSettings: [.unsafeFlags(["-O"], .when(configuration: .debug))]),
    ] + avx2Targets + [
        // Cryptographic core: libsodium wrappers, SIMD ChaCha20/XChaCha12, Adiantum with bitsliced AES-256, HKDF,
        // self-wiping keys.
        // Optimised even in debug builds: the per-packet primitives written in Swift (SIMD ChaCha/XChaCha12, NH,
        // bitsliced AES in Adiantum) run 20–100× slower unoptimised, which would make every multi-node test
        // and the demo crawl on a loaded machine.
        .target(name: "PosternCrypto", dependencies: ["CSodium", "CSecp256k1", "PosternSIMD", "PosternSystem"] + avx2Dependency,
                path: "Sources/Crypto",
                swiftSettings: [.unsafeFlags(["-O"], .when(configuration: .debug))]),

        // Sphinx-family packets: one X25519 per hop, Adiantum payloads, SURBs, replay tags.
        .target(name: "PosternPacket", dependencies: ["PosternCrypto", "PosternSystem"], path: "Sources/Packet"),

        // Unlinkable mailbox addresses + double ratchet (header encryption) for two-party conversations.
        .target(name: "PosternRatchet", dependencies: ["PosternCrypto", "PosternSystem"], path: "Sources/Ratchet"),

        // Links: Noise handshakes (XK between nodes, NK for clients) and framed, encrypted transport.
        .target(name: "PosternLink", dependencies: ["PosternCrypto", "PosternSystem"], path: "Sources/Link"),

        // One LMDB record store (environment, lock, write batch and group commit, named records, sizes),
        // under both the mailbox and the client profile.
        .target(name: "PosternStore", dependencies: ["CLMDB", "CSystem", "PosternSystem"], path: "Sources/Store"),

        // The mailbox store: deposits by 32-byte address in LMDB, retention, replay tags, group commit.
        .target(name: "PosternMailbox", dependencies: ["CLMDB", "CSystem", "PosternStore", "PosternCrypto", "PosternSystem"],
                path: "Sources/Mailbox"),

        // What nodes and clients share: the topology and node descriptors, route choice, the client
        // protocol (ops, statuses, prologues) and the stored-message kinds.
        .target(name: "PosternNetwork", dependencies: ["PosternPacket", "PosternCrypto", "PosternSystem"], path: "Sources/Network"),

        // Node roles: relay (mix) and gateway, as a pipeline of stages (links in → unwrap → mix queue →
        // links out | gateway deposits), the client service and relay loops.
        .target(name: "PosternNode",
                dependencies: ["PosternNetwork", "PosternCover", "PosternLink", "PosternMailbox", "PosternPacket", "PosternCrypto",
                               "PosternSystem"],
                path: "Sources/Node"),

        // Public chats: BIP39/BIP32 secp256k1 identities, Status-style signed messages, anonymous posting.
        .target(name: "PosternChat", dependencies: ["PosternRatchet", "PosternCrypto", "PosternSystem"], path: "Sources/Chat"),

        // Cover traffic: Poisson streams inside a byte and battery budget, loop liveness.
        .target(name: "PosternCover", dependencies: ["PosternCrypto", "PosternSystem"], path: "Sources/Cover"),

        // Clients: the gateway protocol and conversations over the mixnet. No relay, no mailbox in here.
        .target(name: "PosternClient",
                dependencies: ["PosternNetwork", "PosternCover", "PosternChat", "PosternLink", "PosternStore", "PosternRatchet",
                               "PosternPacket", "PosternCrypto", "PosternSystem"],
                path: "Sources/Client"),

        // A whole mixnet on loopback in one process (real nodes, sockets and stores): demo, testnet, bench, tests.
        .target(name: "PosternLocalNetwork",
                dependencies: ["PosternNode", "PosternNetwork", "PosternMailbox", "PosternPacket", "PosternCrypto", "PosternSystem"],
                path: "Sources/LocalNetwork"),

        // Tools.
        .executableTarget(name: "PosternCLI",
                          dependencies: ["PosternCover", "PosternChat", "PosternClient", "PosternLocalNetwork", "PosternNode", "PosternNetwork",
                                         "PosternLink", "PosternMailbox", "PosternStore", "PosternRatchet", "PosternPacket",
                                         "PosternCrypto", "PosternSystem", "CSecp256k1", "CLMDB"],
                          path: "Sources/Tools/postern"),
        .executableTarget(name: "PosternBench",
                          dependencies: ["PosternCover", "PosternChat", "PosternClient", "PosternLocalNetwork", "PosternNode", "PosternNetwork",
                                         "PosternMailbox", "PosternStore", "PosternRatchet", "PosternPacket", "PosternCrypto",
                                         "PosternSystem", "CAllocCounter", "CLMDB"],
                          path: "Sources/Tools/postern-bench"),

        .executableTarget(name: "PosternCrashTest", dependencies: ["PosternMailbox", "PosternStore", "PosternCrypto", "PosternSystem"],
                          path: "Sources/Tools/postern-crashtest"),

    ] + (hostOnly ? fuzzTargets : []) + [
        // Host-only tests.
        .testTarget(name: "CryptoTests", dependencies: ["PosternCrypto", "PosternSystem"], path: "Tests/CryptoTests",
                    resources: [.copy("Vectors")]),
        .testTarget(name: "PacketTests", dependencies: ["PosternPacket", "PosternCrypto", "PosternSystem"],
                    path: "Tests/PacketTests", resources: [.copy("Golden")]),
        .testTarget(name: "MailboxTests", dependencies: ["PosternMailbox", "PosternStore", "PosternCrypto", "PosternSystem", "PosternCrashTest", "CLMDB"],
                    path: "Tests/MailboxTests"),
        .testTarget(name: "LinkTests", dependencies: ["PosternLink", "PosternCrypto"], path: "Tests/LinkTests",
                    resources: [.copy("Vectors")]),
        .testTarget(name: "NodeTests",
                    dependencies: ["PosternClient", "PosternCover", "PosternLocalNetwork", "PosternNode", "PosternNetwork", "PosternLink", "PosternMailbox", "CAllocCounter",
                                   "PosternPacket", "PosternRatchet", "PosternCrypto", "PosternSystem"],
                    path: "Tests/NodeTests"),
        .testTarget(name: "ChatTests", dependencies: ["PosternChat", "PosternCrypto"], path: "Tests/ChatTests",
                    resources: [.copy("Vectors")]),
        .testTarget(name: "CoverTests",
                    dependencies: ["PosternCover", "PosternClient", "PosternLocalNetwork", "PosternNode", "PosternNetwork", "PosternRatchet", "PosternPacket",
                                   "PosternCrypto", "PosternSystem"],
                    path: "Tests/CoverTests"),
        .testTarget(name: "ClientTests", dependencies: ["PosternCLI", "PosternChat", "PosternClient", "PosternCover", "PosternLocalNetwork", "PosternNetwork", "PosternStore", "PosternMailbox",
                                   "PosternNode", "PosternRatchet", "PosternCrypto", "PosternSystem"],
                    path: "Tests/ClientTests"),
        .testTarget(name: "RatchetTests", dependencies: ["PosternRatchet", "PosternCrypto"], path: "Tests/RatchetTests"),
    ] + (hostOnly ? [.testTarget(name: "FuzzTests", dependencies: ["PosternFuzz", "PosternNetwork", "PosternPacket"], path: "Tests/FuzzTests")] : []),
    swiftLanguageModes: [.v6]
)
