import PosternCrypto

/// The chat identity file: the BIP39 seed encrypted at rest under a passphrase, as a profile is
/// (docs/CHAT.md §Identity file). One line:
///
///     "postern-chat-identity/2 " ‖ hex(salt (16) ‖ nonce (24) ‖ XChaCha20-Poly1305(key, nonce, seed, ad))
///
/// key = HKDF-SHA256(salt "postern/chat-identity/v2", Argon2id(passphrase, salt), info "seed", 32 bytes),
/// ad = "postern-chat-identity/2". Version 1 (before 2026-12-03) was the seed itself in hex.
public enum IdentityFile {
    static let magic = "postern-chat-identity/2"

    public enum Refusal: Error, Equatable, CustomStringConvertible {
        case notAnIdentity, wrongPassphrase, outOfMemory
        public var description: String {
            switch self {
            case .notAnIdentity: "not a chat identity file"
            case .wrongPassphrase: "wrong passphrase for the chat identity"
            case .outOfMemory: "out of memory deriving the key"
            }
        }
    }

    /// What a file holds: the encrypted form (needs the passphrase) or an old unencrypted seed.
    public enum Contents: Equatable {
        case sealed([UInt8])
        case plain(seed: [UInt8])
    }

    static func key(_ passphrase: [UInt8], _ salt: [UInt8]) throws(Refusal) -> [UInt8] {
        guard let master = Argon2id.derive(passphrase: passphrase, salt: salt) else { throw .outOfMemory }
        return try! HKDF.derive(salt: Array("postern/chat-identity/v2".utf8), ikm: master, info: Array("seed".utf8), count: 32)
    }

    /// The file's bytes for `seed` under `passphrase` (a fresh salt and nonce each time).
    public static func seal(seed: [UInt8], passphrase: [UInt8]) throws(Refusal) -> [UInt8] {
        let salt = Random.bytes(Argon2id.saltBytes), nonce = Random.bytes(24)
        let sealed = XChaChaPoly.seal(key: try key(passphrase, salt), nonce: nonce, ad: Array(magic.utf8), seed)
        return Array((magic + " " + Hex.encode(salt + nonce + sealed) + "\n").utf8)
    }

    /// Reads a file's form without a passphrase.
    public static func contents(_ file: [UInt8]) throws(Refusal) -> Contents {
        var text = String(decoding: file, as: UTF8.self)
        while let last = text.last, last == "\n" || last == "\r" || last == " " { text.removeLast() }
        if text.hasPrefix(magic + " ") {
            guard let bytes = Hex.decode(String(text.dropFirst(magic.count + 1))), bytes.count >= Argon2id.saltBytes + 24 + 16 + 16 else {
                throw .notAnIdentity
            }
            return .sealed(bytes)
        }
        guard let seed = Hex.decode(text), seed.count >= 16, seed.count <= 64 else { throw .notAnIdentity }
        return .plain(seed: seed)
    }

    /// The seed in a sealed file.
    public static func open(_ sealed: [UInt8], passphrase: [UInt8]) throws(Refusal) -> [UInt8] {
        let salt = Array(sealed[0..<Argon2id.saltBytes]), nonce = Array(sealed[Argon2id.saltBytes..<(Argon2id.saltBytes + 24)])
        let k = try key(passphrase, salt)
        guard let seed = try? XChaChaPoly.open(key: k, nonce: nonce, ad: Array(magic.utf8), Array(sealed[(Argon2id.saltBytes + 24)...]))
        else { throw .wrongPassphrase }
        return seed
    }
}
