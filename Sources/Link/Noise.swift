import PosternCrypto

/// The handshake patterns Postern uses or tests (Noise specification §7): XK for node links (the
/// responder's static key comes from its descriptor), NK for clients (who reveal no long-term key),
/// and NN, XX, IK, XKpsk3 to reproduce the published vectors.
public enum NoisePattern: Equatable {
    case NN, NK, XK, XX, IK, XKpsk3

    /// The pattern's name as written in protocol names ("XK", "XKpsk3", …).
    public var name: String {
        switch self {
        case .NN: "NN"
        case .NK: "NK"
        case .XK: "XK"
        case .XX: "XX"
        case .IK: "IK"
        case .XKpsk3: "XKpsk3"
        }
    }

    public init?(name: String) {
        switch name {
        case "NN": self = .NN
        case "NK": self = .NK
        case "XK": self = .XK
        case "XX": self = .XX
        case "IK": self = .IK
        case "XKpsk3": self = .XKpsk3
        default: return nil
        }
    }

    /// Pattern tokens, one byte each. The message tables are computed rather than array literals: Swift
    /// 6.3's ObjectOutliner pass miscompiles constant array literals in Embedded builds (distinct
    /// literals in one function share one global), which made XK run XKpsk3's tokens on ARM. cross/build
    /// disables that pass; this code does not depend on it either way (cross/README.md).
    enum Token {
        static let e: UInt8 = 1, s: UInt8 = 2, ee: UInt8 = 3, es: UInt8 = 4, se: UInt8 = 5, ss: UInt8 = 6, psk: UInt8 = 7
    }

    /// Pre-message: the responder's static key is known to the initiator.
    var responderStaticKnown: Bool {
        switch self {
        case .NK, .XK, .IK, .XKpsk3: true
        case .NN, .XX: false
        }
    }

    var hasPSK: Bool {
        switch self {
        case .XKpsk3: true
        default: false
        }
    }

    /// Number of handshake messages.
    var messageCount: Int {
        switch self {
        case .NN, .NK, .IK: 2
        case .XK, .XKpsk3, .XX: 3
        }
    }

    /// Tokens of message `i`, first token in the lowest byte.
    func packedTokens(_ i: Int) -> UInt64 {
        let e = UInt64(Token.e), s = UInt64(Token.s), ee = UInt64(Token.ee), es = UInt64(Token.es)
        let se = UInt64(Token.se), ss = UInt64(Token.ss), psk = UInt64(Token.psk)
        func pack(_ t: UInt64...) -> UInt64 { t.reversed().reduce(0) { $0 << 8 | $1 } }
        switch (self, i) {
        case (.NN, 0): return pack(e)
        case (.NN, 1): return pack(e, ee)
        case (.NK, 0): return pack(e, es)
        case (.NK, 1): return pack(e, ee)
        case (.XK, 0), (.XKpsk3, 0): return pack(e, es)
        case (.XK, 1), (.XKpsk3, 1): return pack(e, ee)
        case (.XK, 2): return pack(s, se)
        case (.XKpsk3, 2): return pack(s, se, psk)
        case (.XX, 0): return pack(e)
        case (.XX, 1): return pack(e, ee, s, es)
        case (.XX, 2): return pack(s, se)
        case (.IK, 0): return pack(e, es, s, ss)
        case (.IK, 1): return pack(e, ee, se)
        default: return 0
        }
    }

    /// Tokens of message `i` in order.
    func tokens(_ i: Int) -> [UInt8] {
        var packed = packedTokens(i)
        var out: [UInt8] = []
        while packed != 0 {
            out.append(UInt8(packed & 0xff))
            packed >>= 8
        }
        return out
    }

    public var protocolName: String { "Noise_" + name + "_25519_ChaChaPoly_BLAKE2b" }
}

/// A Noise handshake in progress (specification §5.3), for one side.
public final class NoiseHandshake {
    public let pattern: NoisePattern
    public let initiator: Bool
    var h: [UInt8]
    var ck: [UInt8]
    var cipher = NoiseCipher(key: nil)
    var s: [UInt8]?        // own static secret
    var sPublic: [UInt8]?
    var e: [UInt8]?        // own ephemeral secret
    var ePublic: [UInt8]?
    public private(set) var remoteStatic: [UInt8]?
    var remoteEphemeral: [UInt8]?
    var psk: [UInt8]?
    var step = 0
    /// Fixed ephemeral (test vectors only).
    var fixedEphemeral: [UInt8]?

    /// - Parameters: `staticKey` own static secret (required by X/I patterns on the initiator, by XK/NK/IK/XX
    ///   on the responder); `remoteStatic` the responder's public key for NK/XK/IK initiators.
    public init(pattern: NoisePattern, initiator: Bool, prologue: [UInt8], staticKey: [UInt8]? = nil,
                remoteStatic: [UInt8]? = nil, psk: [UInt8]? = nil, fixedEphemeral: [UInt8]? = nil) throws(LinkError) {
        self.pattern = pattern
        self.initiator = initiator
        let name = Array(pattern.protocolName.utf8)
        h = name.count <= NoiseHash.length ? name + [UInt8](repeating: 0, count: NoiseHash.length - name.count) : NoiseHash.hash(name)
        ck = h
        s = staticKey
        sPublic = staticKey.map { Self.publicKey($0) }
        self.remoteStatic = remoteStatic
        self.psk = psk
        self.fixedEphemeral = fixedEphemeral
        mixHash(prologue)
        if pattern.responderStaticKnown {
            if initiator {
                guard let rs = remoteStatic, rs.count == 32 else { throw .badHandshake("the responder's static key is required") }
                mixHash(rs)
            } else {
                guard let sp = sPublic else { throw .badHandshake("the responder needs its static key") }
                mixHash(sp)
            }
        }
        if pattern.hasPSK && (psk?.count ?? 0) != 32 { throw .badHandshake("a 32-byte PSK is required") }
    }

    static func publicKey(_ secret: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        secret.withUnsafeBytes { s in out.withUnsafeMutableBytes { X25519.publicKey(secret: s.baseAddress!, into: $0.baseAddress!) } }
        return out
    }

    static func dh(_ secret: [UInt8]?, _ publicKey: [UInt8]?) throws(LinkError) -> [UInt8] {
        guard let secret, let publicKey, publicKey.count == 32 else { throw .badHandshake("missing key") }
        var out = [UInt8](repeating: 0, count: 32)
        let ok = secret.withUnsafeBytes { s in publicKey.withUnsafeBytes { p in out.withUnsafeMutableBytes { o in
            (try? X25519.sharedSecret(secret: s.baseAddress!, publicKey: p.baseAddress!, into: o.baseAddress!)) != nil
        } } }
        guard ok else { throw .badHandshake("low-order public key") }
        return out
    }

    func mixHash(_ data: [UInt8]) { h = NoiseHash.hash(h, data) }

    func mixKey(_ ikm: [UInt8]) {
        let out = NoiseHash.hkdf(ck, ikm, 2)
        ck = out[0]
        cipher = NoiseCipher(key: out[1])
    }

    func mixKeyAndHash(_ ikm: [UInt8]) {
        let out = NoiseHash.hkdf(ck, ikm, 3)
        ck = out[0]
        mixHash(out[1])
        cipher = NoiseCipher(key: out[2])
    }

    func encryptAndHash(_ p: [UInt8]) -> [UInt8] {
        let c = cipher.encrypt(ad: h, p)
        mixHash(c)
        return c
    }

    func decryptAndHash(_ c: [UInt8]) throws(LinkError) -> [UInt8] {
        let p = try cipher.decrypt(ad: h, c)
        mixHash(c)
        return p
    }

    public var isComplete: Bool { step == pattern.messageCount }
    /// Whether the next handshake message is ours to write.
    public var isOurTurn: Bool { (step % 2 == 0) == initiator }
    public var handshakeHash: [UInt8] { h }

    private func performDH(_ token: UInt8) throws(LinkError) {
        typealias T = NoisePattern.Token
        if token == T.ee { mixKey(try Self.dh(e, remoteEphemeral)) }
        else if token == T.es { mixKey(initiator ? try Self.dh(e, remoteStatic) : try Self.dh(s, remoteEphemeral)) }
        else if token == T.se { mixKey(initiator ? try Self.dh(s, remoteEphemeral) : try Self.dh(e, remoteStatic)) }
        else if token == T.ss { mixKey(try Self.dh(s, remoteStatic)) }
        else if token == T.psk {
            guard let psk else { throw .badHandshake("no PSK") }
            mixKeyAndHash(psk)
        }
    }

    /// Writes our next handshake message carrying `payload`.
    public func writeMessage(_ payload: [UInt8] = []) throws(LinkError) -> [UInt8] {
        guard !isComplete, isOurTurn else { throw .badHandshake("not our turn") }
        var out: [UInt8] = []
        for token in pattern.tokens(step) {
            switch token {
            case NoisePattern.Token.e:
                let secret = fixedEphemeral ?? Random.bytes(32)
                e = secret
                ePublic = Self.publicKey(secret)
                out += ePublic!
                mixHash(ePublic!)
                if pattern.hasPSK { mixKey(ePublic!) }
            case NoisePattern.Token.s:
                guard let sp = sPublic else { throw .badHandshake("no static key to send") }
                out += encryptAndHash(sp)
            default:
                try performDH(token)
            }
        }
        out += encryptAndHash(payload)
        step += 1
        return out
    }

    /// Reads the peer's next handshake message and returns its payload.
    public func readMessage(_ message: [UInt8]) throws(LinkError) -> [UInt8] {
        guard !isComplete, !isOurTurn else { throw .badHandshake("unexpected message") }
        var offset = 0
        func take(_ n: Int) throws(LinkError) -> [UInt8] {
            guard message.count - offset >= n else { throw .badHandshake("message too short") }
            defer { offset += n }
            return Array(message[offset..<(offset + n)])
        }
        for token in pattern.tokens(step) {
            switch token {
            case NoisePattern.Token.e:
                remoteEphemeral = try take(32)
                mixHash(remoteEphemeral!)
                if pattern.hasPSK { mixKey(remoteEphemeral!) }
            case NoisePattern.Token.s:
                remoteStatic = try decryptAndHash(try take(cipher.hasKey ? 48 : 32))
            default:
                try performDH(token)
            }
        }
        let payload = try decryptAndHash(Array(message[offset...]))
        step += 1
        return payload
    }

    /// After the last message: the two transport ciphers (initiator→responder, responder→initiator),
    /// returned as (send, receive) for this side.
    public func split() throws(LinkError) -> NoiseTransport {
        guard isComplete else { throw .badHandshake("handshake not finished") }
        let out = NoiseHash.hkdf(ck, [], 2)
        let c1 = NoiseCipher(key: out[0]), c2 = NoiseCipher(key: out[1])
        if e != nil { Memory.wipe(&e!) }
        return initiator ? NoiseTransport(send: c1, receive: c2, handshakeHash: h, remoteStatic: remoteStatic)
                         : NoiseTransport(send: c2, receive: c1, handshakeHash: h, remoteStatic: remoteStatic)
    }
}

/// The two directions of an established Noise session.
public struct NoiseTransport {
    public var send: NoiseCipher
    public var receive: NoiseCipher
    public let handshakeHash: [UInt8]
    public let remoteStatic: [UInt8]?
}
