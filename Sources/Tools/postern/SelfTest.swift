import CSecp256k1
import PosternCrypto
import PosternSystem

/// `postern selftest`: proves the cryptography works on the machine it runs on (aarch64 boards, qemu,
/// x86 hosts). Each check reproduces a published vector or compares two independent implementations;
/// one line per check, exit status 1 if any fails.
enum SelfTest {
    typealias Check = (name: String, run: () -> String?)  // nil = pass, otherwise what went wrong

    static let usage = """
    usage: postern selftest
    Checks this machine's cryptography against published test vectors (X25519, ChaCha20, Poly1305,
    BLAKE2b, HKDF, Noise, BIP32/39, secp256k1, Keccak), the SIMD ChaCha20 against libsodium, and a packet,
    ratchet, link and chat round trip. Prints one line per check; exit 0 when all pass, 1 otherwise.
    example: postern selftest
    """

    static func run(_ args: [String]) -> Int32 {
        CLI.helpRequested(args, usage)
        if let extra = args.first {
            Terminal.error("postern selftest: unexpected argument '\(extra)'")
            return 2
        }
        var failed = 0
        let all = checks()
        for check in all {
            if let problem = check.run() {
                failed += 1
                Terminal.line("FAIL  \(check.name): \(problem)")
            } else {
                Terminal.line("ok    \(check.name)")
            }
            Terminal.flush()   // a crash in a later check must not swallow the earlier lines
        }
        Terminal.line(failed == 0 ? "selftest: all \(all.count) checks passed"
                                  : "selftest: \(failed) of \(all.count) checks FAILED")
        return failed == 0 ? 0 : 1
    }

    static func checks() -> [Check] {
        cryptoVectorChecks() + [
            ("chacha20 SIMD = libsodium, lengths 0…1100, counters near 2^32", simdAgreesWithLibsodium),
            ("secp256k1 public key and recoverable signature (coincurve vector)", secp256k1Vector),
        ] + packetChecks() + ratchetChecks() + linkChecks() + chatChecks()
    }

    /// Compares `actual` with the hex `expected`; returns a failure description or nil.
    static func expect(_ actual: [UInt8], _ expected: String) -> String? {
        let got = Hex.encode(actual)
        return got == expected ? nil : "got \(got.prefix(32))…, expected \(expected.prefix(32))…"
    }

    static func bytes(_ hex: String) -> [UInt8] { Hex.decode(hex)! }

    /// The SIMD ChaCha20 must equal libsodium on this CPU: every length up to 1100 bytes, with starting
    /// counters that cross the 32-bit wrap.
    static func simdAgreesWithLibsodium() -> String? {
        let key = Random.bytes(32), nonce = Random.bytes(12), message = Random.bytes(1100)
        let counters: [UInt32] = [0, 1, 7, 0xffff_fffc, 0xffff_fffe, 0xffff_ffff]
        for length in 0...message.count {
            let counter = counters[length % counters.count]
            let input = Array(message[0..<length])
            if ChaCha20SIMD.xor(key: key, nonce: nonce, counter: counter, input)
                != ChaCha20Sodium.xor(key: key, nonce: nonce, counter: counter, input) {
                return "differs at length \(length), counter \(counter)"
            }
        }
        return nil
    }

    static func secp256k1Vector() -> String? {
        let privateKey = bytes("bf390b184c256d34d7b13e310c43b2d376023daca9310d6dc1cc730c45b7df97")
        let digest = bytes("8648a570db0fa9bc35dc45607453d4283ad52899a5f099d5e9578bc6a8f35f7a")
        guard let context = secp256k1_context_create(1) else { return "no context" }  // SECP256K1_CONTEXT_NONE
        defer { secp256k1_context_destroy(context) }
        var pubkey = secp256k1_pubkey()
        guard privateKey.withUnsafeBufferPointer({ secp256k1_ec_pubkey_create(context, &pubkey, $0.baseAddress!) }) == 1
        else { return "pubkey_create failed" }
        var compressed = [UInt8](repeating: 0, count: 33)
        var length = 33
        _ = compressed.withUnsafeMutableBufferPointer {
            secp256k1_ec_pubkey_serialize(context, $0.baseAddress!, &length, &pubkey, 258)  // SECP256K1_EC_COMPRESSED
        }
        if let problem = expect(compressed, "03c573a7d8eefde36ba420bfe2bc989f47f5ec887bd9a7557dbe4a461afc605bac") {
            return "public key: " + problem
        }
        var signature = secp256k1_ecdsa_recoverable_signature()
        let signed = digest.withUnsafeBufferPointer { d in privateKey.withUnsafeBufferPointer { k in
            secp256k1_ecdsa_sign_recoverable(context, &signature, d.baseAddress!, k.baseAddress!, nil, nil)
        } }
        guard signed == 1 else { return "sign failed" }
        var rsv = [UInt8](repeating: 0, count: 65)
        var recid: Int32 = 0
        _ = rsv.withUnsafeMutableBufferPointer {
            secp256k1_ecdsa_recoverable_signature_serialize_compact(context, $0.baseAddress!, &recid, &signature)
        }
        rsv[64] = UInt8(recid)
        return expect(rsv, "3156612b285dc3a0c652939a78b85991793689080d08150cb1fdf5c08805677d38c794d52f2b66354966fff715e35e44a96a78208dac94563015b46f62b7856b01")
    }
}
