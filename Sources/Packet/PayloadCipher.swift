import PosternCrypto

/// The payload's layer at each hop (docs/PROTOCOL.md §2.6): Adiantum (XChaCha12, NH + Poly1305, AES-256)
/// under the hop's 32-byte payload key k_p, with an empty tweak, over the whole payload.
///
/// Direction: whoever *removes* a layer in the network runs Adiantum encryption — every relay with k_p,
/// and a SURB's answerer with the reply key k̃ — so the per-packet path needs only the forward AES
/// cipher. Whoever *adds* layers runs Adiantum decryption: the sender building a packet (innermost hop
/// first) and a SURB's creator opening a reply. Adiantum is a strong PRP both ways, so either direction
/// hides the payload and turns any modified bit into noise at the end.
///
/// The key is fresh for every packet and hop (it comes from that hop's X25519 secret), so the tweak has
/// nothing to separate and stays empty.
enum PayloadCipher {
    static let keyBytes = Adiantum.keyBytes
    static let workspaceBytes = Adiantum.workspaceBytes

    /// A relay's (and a SURB answerer's) step: Adiantum encryption in place.
    @inline(__always)
    static func peel(_ payload: UnsafeMutableRawPointer, count: Int, key: UnsafeRawPointer,
                     workspace: UnsafeMutableRawPointer) {
        Adiantum.encrypt(key: key, tweak: nil, tweakCount: 0, data: payload, count: count, workspace: workspace)
    }

    /// The sender's (and a SURB creator's) step: Adiantum decryption in place, the inverse of `peel`.
    @inline(__always)
    static func wrap(_ payload: UnsafeMutableRawPointer, count: Int, key: UnsafeRawPointer,
                     workspace: UnsafeMutableRawPointer) {
        Adiantum.decrypt(key: key, tweak: nil, tweakCount: 0, data: payload, count: count, workspace: workspace)
    }
}
