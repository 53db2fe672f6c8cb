import PosternCrypto

/// Status's `ChatMessage` (the fields Postern uses) and its `ApplicationMetadataMessage` wrapper.
///
///     ChatMessage { uint64 clock = 1; uint64 timestamp = 2; string text = 3; string chat_id = 6;
///                   MessageType message_type = 7; ContentType content_type = 8; bytes anonymous = 20; }
///     ApplicationMetadataMessage { bytes signature = 1; bytes payload = 2; Type type = 3; }
///
/// signature = 65-byte recoverable secp256k1 ECDSA (R ‖ S ‖ V, V ∈ {0, 1}) over keccak256(payload);
/// author = the key recovered from it; message id = keccak256(65-byte uncompressed author key ‖ the
/// serialised ApplicationMetadataMessage).
public struct ChatMessage: Equatable {
    /// Lamport clock, at least `timestamp` (status-go orders a chat's messages by it).
    public var clock: UInt64
    /// When it was written, in Unix milliseconds (as status-go defines it).
    public var timestamp: UInt64
    public var text: String
    public var chatID: String
    /// Status MessageType: 2 = public group.
    public var messageType: UInt64 = 2
    /// Status ContentType: 1 = text/plain.
    public var contentType: UInt64 = 1
    /// Field 20: anonymous-authorship data (docs/CHAT.md); empty for named messages.
    public var anonymous: [UInt8] = []
    /// Field 21: a session reveal statement (docs/CHAT.md, "Sessions"); empty otherwise.
    public var reveal: [UInt8] = []

    public init(clock: UInt64, timestamp: UInt64, text: String, chatID: String, anonymous: [UInt8] = []) {
        self.clock = clock
        self.timestamp = timestamp
        self.text = text
        self.chatID = chatID
        self.anonymous = anonymous
    }

    public var encoded: [UInt8] {
        var w = ProtoWriter()
        w.uint(1, clock)
        w.uint(2, timestamp)
        w.string(3, text)
        w.string(6, chatID)
        w.uint(7, messageType)
        w.uint(8, contentType)
        w.data(20, anonymous)
        w.data(21, reveal)
        return w.bytes
    }

    public init(decoding bytes: [UInt8]) throws(ProtobufError) {
        self.init(clock: 0, timestamp: 0, text: "", chatID: "")
        messageType = 0
        contentType = 0
        for f in try ProtoReader.fields(bytes) {
            switch f.number {
            case 1: clock = f.varint
            case 2: timestamp = f.varint
            case 3: text = try Self.utf8(f.data)
            case 6: chatID = try Self.utf8(f.data)
            case 7: messageType = f.varint
            case 8: contentType = f.varint
            case 20: anonymous = f.data
            case 21: reveal = f.data
            default: continue   // unknown fields are skipped
            }
        }
    }

    static func utf8(_ bytes: [UInt8]) throws(ProtobufError) -> String {
        guard let s = String(validating: bytes, as: UTF8.self) else { throw .malformed("string is not UTF-8") }
        return s
    }
}

/// The signed wrapper as it travels.
public struct WrappedMessage: Equatable {
    public static let chatMessageType: UInt64 = 1
    public var signature: [UInt8]
    public var payload: [UInt8]
    public var type: UInt64 = chatMessageType

    public var encoded: [UInt8] {
        var w = ProtoWriter()
        w.data(1, signature)
        w.data(2, payload)
        w.uint(3, type)
        return w.bytes
    }

    public init(signature: [UInt8], payload: [UInt8]) {
        self.signature = signature
        self.payload = payload
    }

    public init(decoding bytes: [UInt8]) throws(ProtobufError) {
        signature = []
        payload = []
        type = 0
        for f in try ProtoReader.fields(bytes) {
            switch f.number {
            case 1: signature = f.data
            case 2: payload = f.data
            case 3: type = f.varint
            default: continue
            }
        }
        guard signature.count == 65 else { throw .malformed("signature must be 65 bytes") }
    }

    /// Signs `payload` with `secret`.
    static func sign(_ payload: [UInt8], secret: [UInt8]) -> WrappedMessage? {
        guard let signature = Secp256k1.sign(digest: Keccak256.hash(payload), secret: secret) else { return nil }
        return WrappedMessage(signature: signature, payload: payload)
    }

    /// The author's 65-byte uncompressed key, recovered from the signature; nil for a bad signature.
    public var author: [UInt8]? { Secp256k1.recover(digest: Keccak256.hash(payload), signature: signature) }

    /// keccak256(author ‖ wrapped message).
    public func messageID(author: [UInt8]) -> [UInt8] { Keccak256.hash(author + encoded) }
}
