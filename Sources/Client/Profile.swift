import PosternCrypto
import PosternStore
import PosternSystem

public enum ProfileError: Error, Equatable, CustomStringConvertible {
    case wrongPassphrase
    case notAProfile(String)
    case exists(String)
    /// The profile's record store failed (its cause kept).
    case store(StoreError)
    /// Another postern process kept the profile longer than we waited.
    case busy(String)
    /// `close()` was called and the profile not reopened.
    case closed(String)
    /// The profile's files cannot be written (directory, salt).
    case files(String, SystemError)
    case outOfMemory
    case corrupt(String)
    case unknownContact(String)
    /// A request that cannot be carried out as asked (the text says why).
    case refused(String)

    public var description: String {
        switch self {
        case .wrongPassphrase: "wrong passphrase (nothing was changed)"
        case .notAProfile(let p): "\(p) is not a Postern profile (create one first)"
        case .exists(let p): "\(p) already holds a profile"
        case .store(let error): "profile \(error.description)"
        case .busy(let p): "profile \(p) is in use by another postern process"
        case .closed(let p): "profile \(p) is closed"
        case .files(let p, let error): "\(p): \(error.description)"
        case .outOfMemory: "out of memory deriving the key"
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
    var storage: RecordStore?
    var nameKey: [UInt8]
    var valueKey: [UInt8]
    static let checkName = "postern/profile/check"
    static let checkValue = Array("postern profile v1".utf8)
    /// The profile's LMDB map (its largest size on disk).
    static let mapSize = 64 << 20

    init(directory: String, store: RecordStore, master: [UInt8]) {
        self.directory = directory
        storage = store
        (nameKey, valueKey) = Self.keys(master)
    }

    /// The name key and the value key from Argon2id's output.
    static func keys(_ master: [UInt8]) -> (names: [UInt8], values: [UInt8]) {
        (try! HKDF.derive(salt: Array("postern/profile/v1".utf8), ikm: master, info: Array("names".utf8), count: 32),
         try! HKDF.derive(salt: Array("postern/profile/v1".utf8), ikm: master, info: Array("values".utf8), count: 32))
    }

    deinit {
        Memory.wipe(&nameKey)
        Memory.wipe(&valueKey)
    }

    static func master(_ passphrase: [UInt8], _ salt: [UInt8]) throws(ProfileError) -> [UInt8] {
        guard let key = Argon2id.derive(passphrase: passphrase, salt: salt) else { throw .outOfMemory }
        return key
    }

    /// How long opening waits for a busy store unless told otherwise.
    public static let defaultWaitSeconds = 2.0

    /// Opens the LMDB store, waiting up to `waitSeconds` while another process holds it. The default is not
    /// zero: a child this process is spawning shares the lock's open file description from fork until its
    /// exec closes it, so a profile closed and reopened here while another thread starts a process can
    /// look busy for a moment (seen as a flaky test on a loaded CI machine).
    static func openStore(_ directory: String, waitSeconds: Double = defaultWaitSeconds) throws(ProfileError) -> RecordStore {
        let end = Clock.monotonicNanoseconds() &+ UInt64(waitSeconds * 1e9)
        while true {
            do { return try RecordStore(directory: directory + "/store", mapSize: mapSize, lockWaitSeconds: 0) } catch {
                guard case .inUse = error else { throw .store(error) }
                if Clock.monotonicNanoseconds() >= end { throw .busy(directory) }
                Clock.sleep(nanoseconds: 50_000_000)
            }
        }
    }

    var store: RecordStore {
        get throws(ProfileError) {
            guard let storage else { throw .closed(directory) }
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
        do { try Files.makeDirectories(directory) } catch { throw .files(directory, error) }
        let salt = Random.bytes(Argon2id.saltBytes)
        do { try Files.writeAtomically(saltPath, salt, mode: 0o600) } catch { throw .files(saltPath, error) }
        let profile = Profile(directory: directory, store: try openStore(directory), master: try master(passphrase, salt))
        try profile.put(checkName, checkValue)
        return profile
    }

    /// Opens an existing profile; a wrong passphrase fails before anything is written. Another process
    /// using it is waited for up to `waitSeconds`.
    public static func open(directory: String, passphrase: [UInt8], waitSeconds: Double = defaultWaitSeconds) throws(ProfileError) -> Profile {
        let saltPath = directory + "/profile.salt", newSaltPath = saltPath + ".new"
        guard let salt = try? Files.read(saltPath), salt.count == Argon2id.saltBytes else { throw .notAProfile(directory) }
        let profile = Profile(directory: directory, store: try openStore(directory, waitSeconds: waitSeconds), master: try master(passphrase, salt))
        if (try? profile.get(checkName)) == checkValue {
            if Files.exists(newSaltPath) { try? Files.remove(newSaltPath) }   // a change that never committed
            return profile
        }
        // A passphrase change that committed its records but stopped before replacing the salt.
        guard let newSalt = try? Files.read(newSaltPath), newSalt.count == Argon2id.saltBytes else { throw .wrongPassphrase }
        (profile.nameKey, profile.valueKey) = keys(try master(passphrase, newSalt))
        guard (try? profile.get(checkName)) == checkValue else { throw .wrongPassphrase }
        do {
            try Files.writeAtomically(saltPath, newSalt, mode: 0o600)
            try Files.remove(newSaltPath)
        } catch { throw .files(saltPath, error) }
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
        do { sealed = try store.get(key) } catch { throw .store(error) }
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
                    try store.set(key, nonce + XChaChaPoly.seal(key: valueKey, nonce: nonce, ad: Array(key.utf8), value))
                } else {
                    try store.remove(key)
                }
            }
            try store.flush()
        } catch { throw .store(error) }
    }

    @discardableResult
    public func remove(_ name: String) throws(ProfileError) -> Bool {
        let store = try store
        do {
            let removed = try store.remove(storedName(name))
            try store.flush()
            return removed
        } catch { throw .store(error) }
    }
}
