import CSodium

/// Adiantum (Crowley & Biggers, "Adiantum: length-preserving encryption for entry-level processors",
/// ToSC 2018), the XChaCha12/AES-256 variant Linux calls `adiantum(xchacha12,aes)`: a tweakable strong
/// pseudorandom permutation of any message of 16 bytes or more, built hash–stream–hash. Postern's payload
/// cipher (docs/PROTOCOL.md §2.6): flipping any bit of a ciphertext turns its whole decryption into noise.
///
/// Key schedule, from the 32-byte key K:
///
///     S   = XChaCha12(K, nonce = 01 ‖ 0²³), first 1 136 bytes
///     K_E = S[0..<32] (AES-256), K_T = S[32..<48], K_M = S[48..<64] (Poly1305 r values), K_N = S[64..<1136] (NH)
///
/// Hash of tweak T and left part L, with Poly1305 without its final "+ s" (the key's s half is zero here,
/// which is the same thing) and NH over 1 024-byte chunks of L zero-padded to 16 bytes:
///
///     H(T, L) = Poly1305_{K_T}(le128(8·|L|) ‖ T) + Poly1305_{K_M}(NH(K_N, L₀) ‖ NH(K_N, L₁) ‖ …)   (mod 2¹²⁸)
///
/// Encryption of P = P_L ‖ P_R (|P_R| = 16), with + and − on 16-byte little-endian integers mod 2¹²⁸:
///
///     P_M = P_R + H(T, P_L);  C_M = AES-256_{K_E}(P_M);  C_L = P_L ⊕ XChaCha12(K, C_M ‖ 01 ‖ 0⁷);
///     C_R = C_M − H(T, C_L);  C = C_L ‖ C_R
///
/// Decryption runs the same steps backwards. Everything works in a caller-provided workspace
/// (`workspaceBytes`), which is wiped before returning, so the per-packet path allocates nothing.
public enum Adiantum {
    public static let keyBytes = 32
    public static let minimumBytes = 16
    public static let subkeyBytes = 1136

    // Workspace layout (bytes).
    static let subkeysOffset = 0                        // K_E ‖ K_T ‖ K_M ‖ K_N (1 136)
    static let scheduleOffset = 1136                    // AES-256 round keys (480)
    static let polyKeyOffset = scheduleOffset + AES256.scheduleBytes   // r ‖ 0¹⁶ (32)
    static let nhOffset = polyKeyOffset + 32            // one NH output (32)
    static let tweakHashOffset = nhOffset + 32          // Poly1305_{K_T}(…) (16)
    static let blockOffset = tweakHashOffset + 16       // P_M / C_M (16)
    static let nonceOffset = blockOffset + 16           // 24
    public static let workspaceBytes = nonceOffset + 32 // 1 744

    // MARK: Encryption and decryption

    /// Encrypts `count` (≥ 16) bytes at `data` in place under `key` (32 bytes) and the `tweakCount`-byte
    /// tweak. `workspace` needs `workspaceBytes`, 16-byte aligned.
    @inline(__always)
    public static func encrypt(key: UnsafeRawPointer, tweak: UnsafeRawPointer?, tweakCount: Int,
                               data: UnsafeMutableRawPointer, count: Int, workspace w: UnsafeMutableRawPointer) {
        precondition(count >= minimumBytes)
        let left = count - 16, right = data + left
        prepare(key: key, tweak: tweak, tweakCount: tweakCount, leftCount: left, schedule: false, workspace: w)
        let block = w + blockOffset
        hash(data, left, w, into: block)                                         // H(T, P_L)
        add(block, right, into: block)                                           // P_M
        AES256.encrypt(key: w + subkeysOffset, block: block)                    // C_M
        stream(key: key, block, data, left, w)                                  // C_L
        hash(data, left, w, into: w + nhOffset)                                  // H(T, C_L)
        subtract(block, w + nhOffset, into: right)                               // C_R
        Memory.wipe(w, count: workspaceBytes)
    }

    /// Decrypts `count` (≥ 16) bytes at `data` in place; the inverse of `encrypt`.
    @inline(__always)
    public static func decrypt(key: UnsafeRawPointer, tweak: UnsafeRawPointer?, tweakCount: Int,
                               data: UnsafeMutableRawPointer, count: Int, workspace w: UnsafeMutableRawPointer) {
        precondition(count >= minimumBytes)
        let left = count - 16, right = data + left
        prepare(key: key, tweak: tweak, tweakCount: tweakCount, leftCount: left, schedule: true, workspace: w)
        let block = w + blockOffset
        hash(data, left, w, into: block)                                         // H(T, C_L)
        add(block, right, into: block)                                           // C_M
        stream(key: key, block, data, left, w)                                  // P_L
        AES256.decrypt(schedule: w + scheduleOffset, block: block)              // P_M
        hash(data, left, w, into: w + nhOffset)                                  // H(T, P_L)
        subtract(block, w + nhOffset, into: right)                               // P_R
        Memory.wipe(w, count: workspaceBytes)
    }

    // MARK: Steps

    /// Derives the subkeys, expands the AES key for decryption (`schedule`; encryption expands it on the
    /// fly) and hashes the tweak with |L|.
    @inline(__always)
    static func prepare(key: UnsafeRawPointer, tweak: UnsafeRawPointer?, tweakCount: Int, leftCount: Int,
                        schedule: Bool, workspace w: UnsafeMutableRawPointer) {
        deriveSubkeys(key: key, workspace: w)
        if schedule { AES256.expand(key: w + subkeysOffset, into: w + scheduleOffset) }
        let length = w + blockOffset                    // le128(8·|L|), the block slot is free until hash()
        length.storeBytes(of: UInt64(8 * leftCount).littleEndian, as: UInt64.self)
        length.storeBytes(of: UInt64(0), toByteOffset: 8, as: UInt64.self)
        polyKey(w + subkeysOffset + 32, w)
        withUnsafeTemporaryAllocation(of: crypto_onetimeauth_poly1305_state.self, capacity: 1) { state in
            let s = state.baseAddress!
            crypto_onetimeauth_poly1305_init(s, (w + polyKeyOffset).assumingMemoryBound(to: UInt8.self))
            crypto_onetimeauth_poly1305_update(s, length.assumingMemoryBound(to: UInt8.self), 16)
            if let t = tweak, tweakCount > 0 {
                crypto_onetimeauth_poly1305_update(s, t.assumingMemoryBound(to: UInt8.self), UInt64(tweakCount))
            }
            crypto_onetimeauth_poly1305_final(s, (w + tweakHashOffset).assumingMemoryBound(to: UInt8.self))
        }
    }

    /// S = XChaCha12(K, 01 ‖ 0²³) over 1 136 zero bytes.
    @inline(__always)
    static func deriveSubkeys(key: UnsafeRawPointer, workspace w: UnsafeMutableRawPointer) {
        let nonce = w + nonceOffset
        nonce.initializeMemory(as: UInt8.self, repeating: 0, count: 24)
        nonce.storeBytes(of: 1, as: UInt8.self)
        (w + subkeysOffset).initializeMemory(as: UInt8.self, repeating: 0, count: subkeyBytes)
        XChaCha12.xor(key: key, nonce: nonce, input: w + subkeysOffset, output: w + subkeysOffset, count: subkeyBytes)
    }

    /// Poly1305 key r ‖ 0¹⁶ from the 16-byte r at `r` (libsodium clamps r itself).
    @inline(__always)
    static func polyKey(_ r: UnsafeRawPointer, _ w: UnsafeMutableRawPointer) {
        (w + polyKeyOffset).copyMemory(from: r, byteCount: 16)
        (w + polyKeyOffset + 16).initializeMemory(as: UInt8.self, repeating: 0, count: 16)
    }

    /// `out` = H(T, L) for the `count` bytes at `message`, the tweak part already in the workspace.
    @inline(__always)
    static func hash(_ message: UnsafeRawPointer, _ count: Int, _ w: UnsafeMutableRawPointer,
                     into out: UnsafeMutableRawPointer) {
        nhPoly1305(key: w + subkeysOffset + 48, message: message, count: count, workspace: w, into: out)
        add(out, w + tweakHashOffset, into: out)
    }

    /// NHPoly1305 with `key` = K_M ‖ K_N (1 088 bytes): Poly1305_{K_M} over the NH hashes of each 1 024-byte
    /// chunk; 16 bytes (the result mod 2¹²⁸). Uses the workspace's Poly1305-key and NH slots.
    @inline(__always)
    static func nhPoly1305(key: UnsafeRawPointer, message: UnsafeRawPointer, count: Int,
                           workspace w: UnsafeMutableRawPointer, into out: UnsafeMutableRawPointer) {
        polyKey(key, w)
        withUnsafeTemporaryAllocation(of: crypto_onetimeauth_poly1305_state.self, capacity: 1) { state in
            let s = state.baseAddress!
            crypto_onetimeauth_poly1305_init(s, (w + polyKeyOffset).assumingMemoryBound(to: UInt8.self))
            var offset = 0
            while offset < count {
                let n = min(NH.maximumBytes, count - offset)
                NH.hash(key: key + 16, message: message + offset, count: n, into: w + nhOffset)
                crypto_onetimeauth_poly1305_update(s, (w + nhOffset).assumingMemoryBound(to: UInt8.self), 32)
                offset += n
            }
            crypto_onetimeauth_poly1305_final(s, out.assumingMemoryBound(to: UInt8.self))
        }
    }

    /// XORs XChaCha12(K, C_M ‖ 01 ‖ 0⁷) into the left part.
    @inline(__always)
    static func stream(key: UnsafeRawPointer, _ block: UnsafeRawPointer, _ data: UnsafeMutableRawPointer, _ count: Int,
                       _ w: UnsafeMutableRawPointer) {
        guard count > 0 else { return }
        let nonce = w + nonceOffset
        nonce.copyMemory(from: block, byteCount: 16)
        nonce.storeBytes(of: UInt64(1).littleEndian, toByteOffset: 16, as: UInt64.self)
        XChaCha12.xor(key: key, nonce: nonce, input: data, output: data, count: count)
    }

    @inline(__always)
    static func add(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer, into out: UnsafeMutableRawPointer) {
        let a0 = UInt64(littleEndian: a.loadUnaligned(as: UInt64.self)), a1 = UInt64(littleEndian: a.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
        let b0 = UInt64(littleEndian: b.loadUnaligned(as: UInt64.self)), b1 = UInt64(littleEndian: b.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
        let (lo, carry) = a0.addingReportingOverflow(b0)
        out.storeBytes(of: lo.littleEndian, as: UInt64.self)
        out.storeBytes(of: (a1 &+ b1 &+ (carry ? 1 : 0)).littleEndian, toByteOffset: 8, as: UInt64.self)
    }

    @inline(__always)
    static func subtract(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer, into out: UnsafeMutableRawPointer) {
        let a0 = UInt64(littleEndian: a.loadUnaligned(as: UInt64.self)), a1 = UInt64(littleEndian: a.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
        let b0 = UInt64(littleEndian: b.loadUnaligned(as: UInt64.self)), b1 = UInt64(littleEndian: b.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
        let (lo, borrow) = a0.subtractingReportingOverflow(b0)
        out.storeBytes(of: lo.littleEndian, as: UInt64.self)
        out.storeBytes(of: (a1 &- b1 &- (borrow ? 1 : 0)).littleEndian, toByteOffset: 8, as: UInt64.self)
    }

    // MARK: Array forms (tests, self-test, cold paths)

    public static func encrypt(key: [UInt8], tweak: [UInt8], _ data: [UInt8]) -> [UInt8] {
        run(key, tweak, data, decrypting: false)
    }

    public static func decrypt(key: [UInt8], tweak: [UInt8], _ data: [UInt8]) -> [UInt8] {
        run(key, tweak, data, decrypting: true)
    }

    static func run(_ key: [UInt8], _ tweak: [UInt8], _ data: [UInt8], decrypting: Bool) -> [UInt8] {
        precondition(key.count == keyBytes && data.count >= minimumBytes)
        var out = data
        withUnsafeTemporaryAllocation(byteCount: workspaceBytes, alignment: 16) { ws in
            key.withUnsafeBytes { k in tweak.withUnsafeBytes { t in out.withUnsafeMutableBytes { d in
                if decrypting {
                    decrypt(key: k.baseAddress!, tweak: t.baseAddress, tweakCount: t.count, data: d.baseAddress!,
                            count: d.count, workspace: ws.baseAddress!)
                } else {
                    encrypt(key: k.baseAddress!, tweak: t.baseAddress, tweakCount: t.count, data: d.baseAddress!,
                            count: d.count, workspace: ws.baseAddress!)
                }
            } } }
        }
        return out
    }

    /// The 1 136 subkey bytes S for `key`.
    public static func subkeys(key: [UInt8]) -> [UInt8] {
        precondition(key.count == keyBytes)
        var out = [UInt8](repeating: 0, count: subkeyBytes)
        withUnsafeTemporaryAllocation(byteCount: workspaceBytes, alignment: 16) { ws in
            key.withUnsafeBytes { deriveSubkeys(key: $0.baseAddress!, workspace: ws.baseAddress!) }
            out.withUnsafeMutableBytes { $0.baseAddress!.copyMemory(from: ws.baseAddress!, byteCount: subkeyBytes) }
            Memory.wipe(ws.baseAddress!, count: workspaceBytes)
        }
        return out
    }

    /// NHPoly1305 with a 1 088-byte key K_M ‖ K_N, as the reference vectors give it (16 bytes).
    public static func nhPoly1305(key: [UInt8], _ message: [UInt8]) -> [UInt8] {
        precondition(key.count == 16 + NH.keyBytes)
        var out = [UInt8](repeating: 0, count: 16)
        withUnsafeTemporaryAllocation(byteCount: workspaceBytes, alignment: 16) { ws in
            key.withUnsafeBytes { k in message.withUnsafeBytes { m in out.withUnsafeMutableBytes { o in
                nhPoly1305(key: k.baseAddress!, message: m.baseAddress ?? k.baseAddress!, count: m.count,
                           workspace: ws.baseAddress!, into: o.baseAddress!)
            } } }
            Memory.wipe(ws.baseAddress!, count: workspaceBytes)
        }
        return out
    }

    /// The intermediate values of one encryption, for the reference vectors' `adiantum_intermediates`:
    /// H(T, P_L), P_M, C_M, H(T, C_L).
    public static func intermediates(key: [UInt8], tweak: [UInt8], _ data: [UInt8])
        -> (hashPL: [UInt8], pM: [UInt8], cM: [UInt8], hashCL: [UInt8]) {
        precondition(key.count == keyBytes && data.count >= minimumBytes)
        var result = ([UInt8](repeating: 0, count: 16), [UInt8](repeating: 0, count: 16),
                      [UInt8](repeating: 0, count: 16), [UInt8](repeating: 0, count: 16))
        var d = data
        let left = d.count - 16
        withUnsafeTemporaryAllocation(byteCount: workspaceBytes, alignment: 16) { ws in
            let w = ws.baseAddress!
            key.withUnsafeBytes { k in tweak.withUnsafeBytes { t in d.withUnsafeMutableBytes { p in
                let data = p.baseAddress!, block = w + blockOffset
                prepare(key: k.baseAddress!, tweak: t.baseAddress, tweakCount: t.count, leftCount: left, schedule: false,
                        workspace: w)
                hash(data, left, w, into: block)
                result.0 = Array(UnsafeRawBufferPointer(start: block, count: 16))
                add(block, data + left, into: block)
                result.1 = Array(UnsafeRawBufferPointer(start: block, count: 16))
                AES256.encrypt(key: w + subkeysOffset, block: block)
                result.2 = Array(UnsafeRawBufferPointer(start: block, count: 16))
                stream(key: k.baseAddress!, block, data, left, w)
                hash(data, left, w, into: w + nhOffset)
                result.3 = Array(UnsafeRawBufferPointer(start: w + nhOffset, count: 16))
            } } }
            Memory.wipe(w, count: workspaceBytes)
        }
        return result
    }
}
