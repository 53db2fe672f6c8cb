import PosternCrypto

/// The proof of work a PUSH carries on a network with `pushWorkBits` b > 0 (docs/PROTOCOL.md §5.9): it
/// makes pushes cost, so a coalition's share of all pushes follows its computing power, not how many
/// receivers it names.
///
///     input  = "postern-push 1" (14) ‖ network id (32) ‖ sender id (32) ‖ receiver id (32)
///              ‖ slot (u64) ‖ nonce (u64)                      126 bytes (one BLAKE2b block), big-endian
///     valid  ⇔ the first b bits of BLAKE2b-256(input) are zero (its first 8 bytes, big-endian, < 2^(64 − b))
///
/// The slot is ⌊unix ms / roundMillis⌋ (`NetworkParameters.pushSlot`). A receiver takes a push whose slot
/// is at most two before or one after its own and later than the last slot it took from that sender, so each proof buys one
/// push to one node in one round: about 2^b BLAKE2b compressions.
public struct PushWork: Equatable, Sendable {
    public var slot: UInt64
    public var nonce: UInt64

    public init(slot: UInt64, nonce: UInt64) {
        self.slot = slot
        self.nonce = nonce
    }

    public static let encodedBytes = 16
    static let label: [UInt8] = Array("postern-push 1".utf8)
    static let inputBytes = 126

    /// What a proof binds, laid out once; `value(nonce:)` rewrites only the nonce (no allocation per try).
    public struct Input {
        var bytes: [UInt8]
        var out = [UInt8](repeating: 0, count: 32)

        public init(network: Bytes32, sender: Bytes32, receiver: Bytes32, slot: UInt64) {
            var w = WireWriter()
            w.raw(PushWork.label)
            w.raw(network.bytes)
            w.raw(sender.bytes)
            w.raw(receiver.bytes)
            w.u64(slot)
            w.u64(0)
            bytes = w.bytes
        }

        /// v for `nonce`.
        public mutating func value(nonce: UInt64) -> UInt64 {
            for k in 0..<8 { bytes[118 + k] = UInt8(truncatingIfNeeded: nonce >> (56 - 8 * UInt64(k))) }
            bytes.withUnsafeBytes { input in
                out.withUnsafeMutableBytes { output in
                    BLAKE2b.hash(key: nil, keyCount: 0, message: input.baseAddress, count: PushWork.inputBytes,
                                 output: output.baseAddress!, outputCount: 32)
                }
            }
            var v: UInt64 = 0
            for k in 0..<8 { v = v << 8 | UInt64(out[k]) }
            return v
        }
    }

    /// Whether v meets `bits` of work.
    public static func meets(_ v: UInt64, bits: UInt8) -> Bool { bits == 0 || (bits < 64 && v >> (64 - UInt64(bits)) == 0) }

    /// Whether this proof is valid for the push of `sender`'s descriptor to `receiver` on `network`.
    public func isValid(network: Bytes32, sender: Bytes32, receiver: Bytes32, bits: UInt8) -> Bool {
        var input = Input(network: network, sender: sender, receiver: receiver, slot: slot)
        return Self.meets(input.value(nonce: nonce), bits: bits)
    }

    /// Tries nonces `from`, `from + 1`, … at most `tries` of them; the first that meets `bits`, or nil.
    public static func search(_ input: inout Input, bits: UInt8, from: UInt64, tries: Int) -> UInt64? {
        var nonce = from
        for _ in 0..<tries {
            if meets(input.value(nonce: nonce), bits: bits) { return nonce }
            nonce &+= 1
        }
        return nil
    }
}
