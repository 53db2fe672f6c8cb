import PosternCrypto
import PosternMailbox
import PosternSystem

public enum ProfileError: Error, Equatable {
    case wrongPassphrase
    case notAProfile(String)
    case exists(String)
    case store(String)
    case corrupt(String)
    case unknownContact(String)
    /// A request that cannot be carried out as asked (the text says why).
    case refused(String)

    public var description: String {
        switch self {
        case .wrongPassphrase: "wrong passphrase (nothing was changed)"
        case .notAProfile(let p): "\(p) is not a Postern profile (create one first)"
        case .exists(let p): "\(p) already holds a profile"
        case .store(let why): why
        case .corrupt(let name): "profile record '\(name)' is damaged"
        case .unknownContact(let name): "no contact named '\(name)' (see 'postern contact list')"
        case .refused(let why): why
        }
    }
}

/// A client's private data (keys, contacts, conversation states, received messages) in LMDB, encrypted
/// at rest under a passphrase.
///
/// `profile.salt` holds the Argon2id salt. Argon2id(passphrase, salt) → K; from K, HKDF gives a name
/// key and a value key. Each record is stored under HMAC-SHA256(name key, name) (so record names such as
/// contact names never appear in the files), as nonce (24) ‖ XChaCha20-Poly1305(value key, nonce, value,
/// ad = hashed name), so a record cannot be moved to another name. A check record written at creation
/// tells a wrong passphrase from a damaged file before anything is touched.
public final class Profile {
    public let directory: String
    /// Open while in use; `close()` releases the store and its lock (the keys stay in memory) so another
    /// `postern` can use the profile, and `reopen` takes it back.
    var storage: MailboxStore?
    var nameKey: [UInt8]
    var valueKey: [UInt8]
    static let checkName = "postern/profile/check"
    static let checkValue = Array("postern profile v1".utf8)

    init(directory: String, store: MailboxStore, master: [UInt8]) {
        self.directory = directory
        storage = store
        nameKey = try! HKDF.derive(salt: Array("postern/profile/v1".utf8), ikm: master, info: Array("names".utf8), count: 32)
        valueKey = try! HKDF.derive(salt: Array("postern/profile/v1".utf8), ikm: master, info: Array("values".utf8), count: 32)
    }

    deinit {
        Memory.wipe(&nameKey)
        Memory.wipe(&valueKey)
    }

    static func master(_ passphrase: [UInt8], _ salt: [UInt8]) throws(ProfileError) -> [UInt8] {
        guard let key = Argon2id.derive(passphrase: passphrase, salt: salt) else { throw .store("out of memory deriving the key") }
        return key
    }

    /// Opens the LMDB store, waiting up to `waitSeconds` while another process holds it.
    static func openStore(_ directory: String, waitSeconds: Double = 0) throws(ProfileError) -> MailboxStore {
        var config = MailboxConfig()
        config.mapSize = 64 << 20
        config.byteCap = 48 << 20
        let end = Clock.monotonicNanoseconds() &+ UInt64(waitSeconds * 1e9)
        while true {
            do { return try MailboxStore(directory: directory + "/store", config: config) } catch {
                guard case .inUse = error else { throw .store(error.description) }
                if Clock.monotonicNanoseconds() >= end {
                    throw .store("profile \(directory) is in use by another postern process")
                }
                Clock.sleep(nanoseconds: 50_000_000)
            }
        }
    }

    var store: MailboxStore {
        get throws(ProfileError) {
            guard let storage else { throw .store("profile \(directory) is closed") }
            return storage
        }
    }

    /// Commits and releases the store (and its lock); the derived keys stay, for `reopen`.
    public func close() {
        try? storage?.flush()
        storage = nil
    }

    /// Takes the store back after `close()`, waiting up to `waitSeconds` for another process to let go.
    public func reopen(waitSeconds: Double) throws(ProfileError) {
        guard storage == nil else { return }
        storage = try Self.openStore(directory, waitSeconds: waitSeconds)
    }

    /// Creates a new profile in `directory` (which must not hold one).
    public static func create(directory: String, passphrase: [UInt8]) throws(ProfileError) -> Profile {
        let saltPath = directory + "/profile.salt"
        if Files.exists(saltPath) { throw .exists(directory) }
        do { try Files.makeDirectories(directory) } catch { throw .store("\(directory): \(error.message)") }
        let salt = Random.bytes(Argon2id.saltBytes)
        do { try Files.writeAtomically(saltPath, salt, mode: 0o600) } catch { throw .store("\(saltPath): \(error.message)") }
        let profile = Profile(directory: directory, store: try openStore(directory), master: try master(passphrase, salt))
        try profile.put(checkName, checkValue)
        return profile
    }

    /// Opens an existing profile; a wrong passphrase fails before anything is written. Another process
    /// using it is waited for up to `waitSeconds`.
    public static func open(directory: String, passphrase: [UInt8], waitSeconds: Double = 0) throws(ProfileError) -> Profile {
        let saltPath = directory + "/profile.salt"
        guard let salt = try? Files.read(saltPath), salt.count == Argon2id.saltBytes else { throw .notAProfile(directory) }
        let master = try master(passphrase, salt)
        let profile = Profile(directory: directory, store: try openStore(directory, waitSeconds: waitSeconds), master: master)
        guard (try? profile.get(checkName)) == checkValue else { throw .wrongPassphrase }
        return profile
    }

    func storedName(_ name: String) -> String {
        Hex.encode(HMACSHA256.authenticate(key: nameKey, Array(name.utf8)))
    }

    /// Stores `value` under `name`; durable when this returns.
    public func put(_ name: String, _ value: [UInt8]) throws(ProfileError) { try write([(name, value)]) }

    public func get(_ name: String) throws(ProfileError) -> [UInt8]? {
        let key = storedName(name), store = try store
        let sealed: [UInt8]?
        do { sealed = try store.state(key) } catch { throw .store(error.description) }
        guard let sealed else { return nil }
        guard sealed.count >= 24 + 16,
              let value = try? XChaChaPoly.open(key: valueKey, nonce: Array(sealed[0..<24]), ad: Array(key.utf8), Array(sealed[24...]))
        else { throw .corrupt(name) }
        return value
    }

    /// Applies several changes (nil value = remove) in one transaction: all of them survive a crash, or
    /// none does. A ratchet step and the message it produced are written this way.
    public func write(_ changes: [(name: String, value: [UInt8]?)]) throws(ProfileError) {
        let store = try store
        do {
            for change in changes {
                let key = storedName(change.name)
                if let value = change.value {
                    let nonce = Random.bytes(24)
                    try store.setState(key, nonce + XChaChaPoly.seal(key: valueKey, nonce: nonce, ad: Array(key.utf8), value))
                } else {
                    try store.removeState(key)
                }
            }
            try store.flush()
        } catch { throw .store(error.description) }
    }

    @discardableResult
    public func remove(_ name: String) throws(ProfileError) -> Bool {
        let store = try store
        do {
            let removed = try store.removeState(storedName(name))
            try store.flush()
            return removed
        } catch { throw .store(error.description) }
    }
}
