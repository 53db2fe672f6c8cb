import PosternCrypto
import PosternRatchet

/// How a post is signed.
public enum PostMode: Equatable {
    /// Signed by the chat key itself: the author is visible to everyone.
    case named
    /// Anonymous, signed by m/43'/60'/1581'/0'/0'/x for a fresh random x, which travels in field 20
    /// encrypted to the author's chat key.
    case derived
    /// Anonymous, signed by a fresh random key; field 20 = Encrypt(authorPub, Sign(authorPriv, keccak(randomPub))).
    case signedRandom
    /// Anonymous with nothing linking it to anyone; the author's own devices learn it from a note on the
    /// seed's private device-sync chain.
    case keyless

    var tag: UInt8 {
        switch self {
        case .named: 0
        case .derived: 1
        case .signedRandom: 2
        case .keyless: 3
        }
    }

    public init?(name: String) {
        switch name {
        case "derived": self = .derived
        case "signed": self = .signedRandom
        case "keyless": self = .keyless
        default: return nil
        }
    }
}

/// What a device makes of a message.
public enum Authorship: Equatable {
    /// Posted by this seed's owner (possibly from another device); `anonymous` tells how it shows to others.
    case mine(anonymous: Bool)
    /// Posted under one of this seed's session identities (docs/CHAT.md, "Sessions").
    case mineSession(rotation: UInt32)
    /// Posted under a session someone revealed: to the chat (bound to a chat key) or to us privately.
    case revealed(session: [UInt8], owner: RevealedOwner)
    /// Anonymous, and not ours.
    case anonymous
    /// Signed openly by this chat key (65-byte uncompressed).
    case named(author: [UInt8])
}

extension Authorship {
    /// How a device shows the author: "me", "me (anonymous)", "me (session 2)", "Anonymous", a session
    /// pseudonym with whom it was revealed as, or the author's compressed key (`short`: its first 6 bytes).
    public func shown(short: Bool = false) -> String {
        switch self {
        case .mine(let anonymous): return anonymous ? "me (anonymous)" : "me"
        case .mineSession(let rotation): return "me (session \(rotation))"
        case .anonymous: return "Anonymous"
        case .named(let author):
            let key = Secp256k1.normalize(author, compressed: true) ?? author
            return "0x" + Hex.encode(short ? Array(key.prefix(6)) : key) + (short ? "…" : "")
        case .revealed(let session, .chatKey(let chat)):
            return ChatSession.pseudonym(session) + " (revealed: " + ChatSession.pseudonym(chat) + ")"
        case .revealed(let session, .contact(let name)):
            return ChatSession.pseudonym(session) + " (" + name + ", told you privately)"
        case .revealed(let session, .continues(let old)):
            return ChatSession.pseudonym(session) + " (continues " + ChatSession.pseudonym(old) + ")"
        }
    }
}

public enum ChatError: Error, Equatable, CustomStringConvertible {
    case malformed(String)
    case badSignature
    /// Field 20 decrypts for us but does not belong to this message (copied from another one).
    case tampered
    /// The message's signature is good but the reveal statement it carries does not verify.
    case badReveal
    case keyDerivation

    public var description: String {
        switch self {
        case .malformed(let why): "malformed message: \(why)"
        case .badSignature: "signature does not verify"
        case .tampered: "anonymous-authorship data does not match the message (tampered or replayed)"
        case .badReveal: "the reveal statement in the message does not verify"
        case .keyDerivation: "key derivation failed"
        }
    }
}

/// A chat identity from a BIP39 seed: chat key at m/43'/60'/1581'/0'/0 (EIP-1581), anonymous keys
/// under m/43'/60'/1581'/0'/0', and the private device-sync chain.
public final class ChatIdentity {
    public static let chatPath = "m/43'/60'/1581'/0'/0"
    public static let anonymousPath = "m/43'/60'/1581'/0'/0'"
    let chatSecret: [UInt8]
    public let chatPublic: [UInt8]          // 65 bytes uncompressed
    let anonymousBase: ExtendedKey
    /// Ids of this identity's keyless posts, learnt from its own sync notes.
    public private(set) var ownKeyless: Set<[UInt8]> = []
    let syncKey: [UInt8]
    let syncAddressKey: Bytes32
    /// The secret of m/43'/60'/1581'/0'/1', from which session identities are derived.
    let sessionRoot: [UInt8]
    /// Session public keys per chat (rotations 0 ..< sessionWindow), computed on first use.
    var sessionKeys: [String: [[UInt8]]] = [:]
    /// Session keys whose owner a verified reveal statement told us.
    public internal(set) var revealed: [[UInt8]: RevealedOwner] = [:]

    public init(seed: [UInt8]) throws(SeedError) {
        let master = try ExtendedKey(seed: seed)
        let chat = try master.derive(Self.chatPath)
        chatSecret = chat.secret
        chatPublic = Secp256k1.publicKey(chat.secret, compressed: false)!
        anonymousBase = try master.derive(Self.anonymousPath)
        sessionRoot = try master.derive(ChatSession.rootPath).secret
        syncKey = try! HKDF.derive(salt: Array("postern/device-sync/v1".utf8), ikm: chat.secret, info: Array("key".utf8), count: 32)
        syncAddressKey = Bytes32(try! HKDF.derive(salt: Array("postern/device-sync/v1".utf8), ikm: chat.secret,
                                                  info: Array("addresses".utf8), count: 32))!
    }

    public convenience init(phrase: [String], passphrase: String = "") throws(SeedError) {
        try self.init(seed: try BIP39.seed(phrase: phrase, passphrase: passphrase))
    }

    /// The compressed chat public key, as shown to people.
    public var chatKeyCompressed: [UInt8] { Secp256k1.normalize(chatPublic, compressed: true)! }

    /// A signed post for `chatID`; returns the wrapped message bytes and its id. A keyless post also
    /// returns the device-sync note to deposit on the sync chain.
    public func post(_ text: String, chatID: String, clock: UInt64, timestamp: UInt64, mode: PostMode)
        throws(ChatError) -> (bytes: [UInt8], id: [UInt8], syncNote: [UInt8]?) {
        var message = ChatMessage(clock: clock, timestamp: timestamp, text: text, chatID: chatID)
        var signer = chatSecret
        switch mode {
        case .named:
            break
        case .derived:
            let x = Random.uniform(0x7fff_ffff)
            guard let key = try? anonymousBase.child(x), let sealed = ECIES.encrypt(to: chatPublic, [UInt8(x >> 24), UInt8(x >> 16 & 0xff), UInt8(x >> 8 & 0xff), UInt8(x & 0xff)])
            else { throw .keyDerivation }
            signer = key.secret
            message.anonymous = [mode.tag] + sealed
        case .signedRandom:
            signer = Self.randomSecret()
            guard let randomPublic = Secp256k1.publicKey(signer, compressed: false),
                  let endorsement = Secp256k1.sign(digest: Keccak256.hash(randomPublic), secret: chatSecret),
                  let sealed = ECIES.encrypt(to: chatPublic, endorsement) else { throw .keyDerivation }
            message.anonymous = [mode.tag] + sealed
        case .keyless:
            signer = Self.randomSecret()
            message.anonymous = [mode.tag]
        }
        guard let wrapped = WrappedMessage.sign(message.encoded, secret: signer), let author = wrapped.author else {
            throw .keyDerivation
        }
        let bytes = wrapped.encoded
        let id = wrapped.messageID(author: author)
        var note: [UInt8]?
        if mode == .keyless {
            ownKeyless.insert(id)
            let nonce = Random.bytes(24)
            note = nonce + XChaChaPoly.seal(key: syncKey, nonce: nonce, ad: Array("postern/device-sync/note".utf8), id)
        }
        return (bytes, id, note)
    }

    public static func randomSecretForBench() -> [UInt8] { randomSecret() }

    static func randomSecret() -> [UInt8] {
        var s = Random.bytes(32)
        while !Secp256k1.isValidSecret(s) { s = Random.bytes(32) }
        return s
    }

    /// Reads a device-sync note (from this seed's sync chain); false if it is not ours.
    @discardableResult
    public func learn(syncNote note: [UInt8]) -> Bool {
        guard note.count == 24 + 32 + 16,
              let id = try? XChaChaPoly.open(key: syncKey, nonce: Array(note[0..<24]), ad: Array("postern/device-sync/note".utf8),
                                             Array(note[24...])) else { return false }
        ownKeyless.insert(id)
        return true
    }

    /// The mailbox addresses of the private device-sync chain (the first `count`).
    public func syncAddresses(_ count: Int) -> [Bytes32] {
        var chain = AddressChain(key: syncAddressKey)
        return (0..<count).map { _ in chain.next() }
    }

    /// Verifies a wrapped message and decides whose it is.
    public func classify(_ bytes: [UInt8]) throws(ChatError) -> (message: ChatMessage, id: [UInt8], authorship: Authorship) {
        let wrapped: WrappedMessage, message: ChatMessage
        do throws(ProtobufError) {
            wrapped = try WrappedMessage(decoding: bytes)
            message = try ChatMessage(decoding: wrapped.payload)
        } catch {
            guard case .malformed(let why) = error else { throw .malformed("bad protobuf") }
            throw .malformed(why)
        }
        guard let author = wrapped.author else { throw .badSignature }
        let id = wrapped.messageID(author: author)
        guard let tag = message.anonymous.first else {
            if author == chatPublic { return (message, id, .mine(anonymous: false)) }
            if let rotation = ownSession(chat: message.chatID, key: author) { return (message, id, .mineSession(rotation: rotation)) }
            if !message.reveal.isEmpty {
                // A reveal must be signed by the session it reveals, in the chat it names.
                _ = try learn(reveal: message.reveal, inChat: message.chatID, postAuthor: author)
            }
            if let owner = revealed[author] { return (message, id, .revealed(session: author, owner: owner)) }
            return (message, id, .named(author: author))
        }
        let data = Array(message.anonymous.dropFirst())
        switch tag {
        case PostMode.derived.tag:
            guard let xBytes = ECIES.decrypt(secret: chatSecret, data), xBytes.count == 4 else { return (message, id, .anonymous) }
            let x = xBytes.reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            guard x < ExtendedKey.hardened, let key = try? anonymousBase.child(x),
                  Secp256k1.publicKey(key.secret, compressed: false) == author else { return (message, id, .anonymous) }
            return (message, id, .mine(anonymous: true))
        case PostMode.signedRandom.tag:
            guard let endorsement = ECIES.decrypt(secret: chatSecret, data) else { return (message, id, .anonymous) }
            guard endorsement.count == 65,
                  Secp256k1.recover(digest: Keccak256.hash(author), signature: endorsement) == chatPublic else { throw .tampered }
            return (message, id, .mine(anonymous: true))
        case PostMode.keyless.tag:
            return (message, id, ownKeyless.contains(id) ? .mine(anonymous: true) : .anonymous)
        default:
            return (message, id, .anonymous)
        }
    }
}

/// Public chats: a chat name maps to one mailbox address per 10-minute bucket, which anyone knowing the
/// name can compute; posts for that bucket are deposited there and readers fetch it (without deleting).
public enum PublicChat {
    public static let bucketSeconds: Int64 = 600

    public static func address(chat: String, bucket: Int64) -> Bytes32 {
        var b = UInt64(bitPattern: bucket).bigEndian
        let bucketBytes = withUnsafeBytes(of: &b) { Array($0) }
        return Bytes32(BLAKE2b.hash(key: Array("postern/public-chat/v1".utf8), Array(chat.utf8) + bucketBytes, outputCount: 32))!
    }

    public static func bucket(at seconds: Int64) -> Int64 { seconds / bucketSeconds }
}
