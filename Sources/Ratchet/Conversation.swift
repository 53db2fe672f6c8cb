import PosternCrypto
import PosternSystem

/// Tunable limits of a conversation.
public struct RatchetConfig: Equatable, Sendable {
    /// How many upcoming addresses of each counterparty chain are watched (look-ahead window).
    public var window: Int
    /// Most message keys skipped in one step, and most kept in total (Signal's MAX_SKIP).
    public var maxSkip: Int

    public init(window: Int = 32, maxSkip: Int = 1000) {
        precondition(window >= 1 && maxSkip >= window)
        self.window = window
        self.maxSkip = maxSkip
    }
}

/// One side of a two-party conversation: every message goes to a fresh, unlinkable 32-byte mailbox
/// address that only the two parties can compute, encrypted with the double ratchet (docs/PROTOCOL.md §3).
///
/// `send` advances the state: persist `serialized()` before handing the message to the network, so a
/// crash never reuses a key or an address. `receive` either succeeds or leaves the state untouched.
public final class Conversation {
    public let config: RatchetConfig
    var state: RatchetState
    /// `receive` works on this copy and swaps it in on success (no allocation per message); after a
    /// swap it holds the previous state, which is wiped at once.
    private var trial = RatchetState()

    init(state: RatchetState, config: RatchetConfig) {
        self.state = state
        self.config = config
    }

    /// Starts a conversation from our contact secret and the counterparty's bundle. Both sides, each
    /// holding its own secret and the other's bundle, arrive at matching states and can send at once.
    public convenience init(ours: ContactSecret, theirs: ContactBundle, config: RatchetConfig = RatchetConfig()) throws(RatchetError) {
        let own = ours.bundle.publicKey, other = theirs.publicKey
        guard own != other else { throw .badBundle }
        let sk = try KDF.dh(ours.secret, other)
        let iAmAlice = own.bytes.lexicographicallyPrecedes(other.bytes)
        let (a, b) = iAmAlice ? (own, other) : (other, own)
        // RK0 ‖ HK_A ‖ NHK_B ‖ AK_A ‖ NAK_B = HKDF(salt = A ‖ B, SK, "postern/ratchet/init/v1")
        var initial = try! HKDF.derive(salt: a.bytes + b.bytes, ikm: sk.bytes, info: KDF.initInfo, count: 160)
        func part(_ i: Int) -> Bytes32 { Bytes32(Array(initial[(32 * i)..<(32 * i + 32)]))! }
        let (rk0, hkA, nhkB, akA, nakB) = (part(0), part(1), part(2), part(3), part(4))
        Memory.wipe(&initial)

        let s = RatchetState()
        // The first root step, DH(a, B) = DH(b, A) = SK, is common to both sides: Alice's first chain.
        let first = KDF.root(rk0, sk)
        if iAmAlice {
            s.dhSecret = ours.secret; s.dhPublic = own; s.remoteDH = other
            s.rootKey = first.rk; s.sendChain = first.ck; s.hasSend = true
            s.sendHeader = hkA; s.nextSendHeader = first.nhk
            s.sendAddress = akA; s.nextSendAddress = first.nak
            s.nextRecvHeader = nhkB; s.nextRecvAddress = nakB
        } else {
            s.remoteDH = other
            s.rootKey = first.rk; s.recvChain = first.ck; s.hasRecv = true
            s.recvHeader = hkA; s.recvAddress = akA
            s.nextRecvHeader = first.nhk; s.nextRecvAddress = first.nak
            // Bob's own first chain: a fresh ratchet key, so his first message already carries new DH.
            let fresh = Bytes32.random()
            s.dhSecret = fresh; s.dhPublic = KDF.publicKey(fresh)
            let sent = KDF.root(s.rootKey, try KDF.dh(fresh, other))
            s.rootKey = sent.rk; s.sendChain = sent.ck; s.hasSend = true
            s.sendHeader = nhkB; s.nextSendHeader = sent.nhk
            s.sendAddress = nakB; s.nextSendAddress = sent.nak
        }
        self.init(state: s, config: config)
    }

    /// Encrypts `plaintext` as the next message into `output` (`plaintext.count + RatchetMessage.overhead`
    /// bytes) and returns its address. Advances the state; allocates nothing.
    public func send(_ plaintext: UnsafeRawBufferPointer, into output: UnsafeMutableRawPointer) -> Bytes32 {
        let s = state
        precondition(s.hasSend, "a conversation always has a sending chain")
        let (ck, mk) = KDF.chain(s.sendChain)
        let (ak, address) = KDF.address(s.sendAddress)
        let header = RatchetHeader(dh: s.dhPublic, pn: s.pn, n: s.ns)
        MessageCrypto.seal(header: header, headerKey: s.sendHeader, messageKey: mk, address: address,
                           plaintext: plaintext, into: output)
        s.sendChain = ck
        s.sendAddress = ak
        if s.ns < RatchetState.maxCounter { s.ns += 1 }
        return address
    }

    /// Encrypts `plaintext` as the next message: its address and ciphertext (the one allocation).
    public func send(_ plaintext: [UInt8]) -> RatchetMessage {
        var ciphertext = [UInt8](repeating: 0, count: plaintext.count + RatchetMessage.overhead)
        let address = plaintext.withUnsafeBytes { p in
            ciphertext.withUnsafeMutableBytes { send(p, into: $0.baseAddress!) }
        }
        return RatchetMessage(address: address, ciphertext: ciphertext)
    }

    /// The address the next `send` will use (e.g. to fetch one's own message back in tests).
    public var nextSendAddress: Bytes32 { KDF.address(state.sendAddress).address }

    /// Every address a message from the counterparty may arrive at now: skipped messages, the look-ahead
    /// window of the current receiving chain, and of the chain that follows its next ratchet step.
    /// `lookAhead`: only the first that many of each window (what a client asks its gateway to watch:
    /// a message further ahead is seen once those before it arrive and the window moves).
    public func watchedAddresses(lookAhead: Int? = nil) -> [Bytes32] {
        let count = min(lookAhead ?? config.window, config.window)
        var out = state.skipped.map { $0.address }
        if state.hasRecv { out += RatchetState.window(from: state.recvAddress, count: count) }
        out += RatchetState.window(from: state.nextRecvAddress, count: count)
        return out
    }

    /// Decrypts a message found at one of the watched addresses into `output`
    /// (`ciphertext.count - RatchetMessage.overhead` bytes). On any error the state is unchanged and no
    /// unauthenticated plaintext reaches `output`. Allocates nothing unless keys of skipped messages are kept or used.
    public func receive(address: Bytes32, ciphertext: UnsafeRawBufferPointer,
                        into output: UnsafeMutableRawPointer?) throws(RatchetError) {
        try MessageCrypto.check(ciphertext)
        state.copy(into: trial)
        do {
            try Self.receive(address: address, ciphertext, into: trial, output: output, config: config)
        } catch {
            trial.wipe()
            throw error
        }
        swap(&state, &trial)
        trial.wipe()
    }

    /// Decrypts a message found at one of the watched addresses. On any error the state is unchanged.
    public func receive(_ message: RatchetMessage) throws(RatchetError) -> [UInt8] {
        let count = message.ciphertext.count - RatchetMessage.overhead
        guard count >= 0 else { throw .malformed }
        var plaintext = [UInt8](repeating: 0, count: count)
        try withBytes(message.ciphertext) { (c) throws(RatchetError) in
            try withMutableBytes(&plaintext) { (p) throws(RatchetError) in
                try receive(address: message.address, ciphertext: c, into: p.baseAddress)
            }
        }
        return plaintext
    }

    static func receive(address: Bytes32, _ c: UnsafeRawBufferPointer, into s: RatchetState, output: UnsafeMutableRawPointer?,
                        config: RatchetConfig) throws(RatchetError) {
        // A message we skipped earlier (delayed or reordered).
        if let i = s.skipped.firstIndex(where: { $0.address == address }) {
            let entry = s.skipped[i]
            guard let header = MessageCrypto.openHeader(c, address: address, headerKey: entry.headerKey),
                  header.n == entry.index else { throw .forged }
            try MessageCrypto.openBody(c, address: address, messageKey: entry.messageKey, into: output)
            s.skipped.remove(at: i)
            return
        }
        // The current receiving chain, within the window.
        if s.hasRecv, let k = RatchetState.position(of: address, from: s.recvAddress, count: config.window) {
            let n = s.nr + UInt32(k)
            guard let header = MessageCrypto.openHeader(c, address: address, headerKey: s.recvHeader), header.n == n,
                  header.dh == s.remoteDH else { throw .forged }
            return try advance(s, to: n, address, c, output, maxSkip: config.maxSkip)
        }
        // The counterparty's next chain: this message carries their new ratchet key.
        if let k = RatchetState.position(of: address, from: s.nextRecvAddress, count: config.window) {
            guard let header = MessageCrypto.openHeader(c, address: address, headerKey: s.nextRecvHeader),
                  header.n == UInt32(k) else { throw .forged }
            try s.skip(until: header.pn, maxSkip: config.maxSkip)
            try s.dhRatchet(remote: header.dh, fresh: .random())
            return try advance(s, to: header.n, address, c, output, maxSkip: config.maxSkip)
        }
        throw .unknownAddress
    }

    /// Skips to index `n` of the receiving chain, takes its message key and opens the body.
    private static func advance(_ s: RatchetState, to n: UInt32, _ address: Bytes32, _ c: UnsafeRawBufferPointer,
                                _ output: UnsafeMutableRawPointer?, maxSkip: Int) throws(RatchetError) {
        // The last index a chain may use: taking it would leave Nr past what a stored state may hold.
        guard n < RatchetState.maxCounter else { throw .tooManySkipped }
        try s.skip(until: n, maxSkip: maxSkip)
        let (ck, mk) = KDF.chain(s.recvChain)
        try MessageCrypto.openBody(c, address: address, messageKey: mk, into: output)
        s.recvChain = ck
        s.recvAddress = KDF.address(s.recvAddress).next
        s.nr += 1
    }
}
