import PosternCrypto
import PosternStore
import PosternSystem

/// A profile's records as a whole: a new passphrase, and export to one encrypted file that `importing`
/// turns into a profile elsewhere (docs/CLIENT.md §6).
extension Profile {
    /// The records a profile holds besides its check record; `state/NAME` for each contact.
    static let fixedRecords = ["settings", "contacts", "pending", "outbox", "inbox", "network", "cover-spent", "usage"]

    /// Every record, by name. Refused when the store holds records this version cannot name (a newer
    /// version's): copying the rest would lose them.
    public func allRecords() throws(ProfileError) -> [(name: String, value: [UInt8])] {
        let names = Self.fixedRecords + (try contacts()).map { "state/" + $0.name }
        var out: [(name: String, value: [UInt8])] = []
        for name in names { if let value = try get(name) { out.append((name, value)) } }
        let s = try store
        let stored: Int
        do { stored = try s.recordCount() } catch { throw .store(error) }
        guard stored == out.count + 1 else {
            throw .refused("the profile holds \(stored - out.count - 1) record(s) this version of postern does not know; nothing was changed")
        }
        return out
    }

    /// Re-encrypts every record under `passphrase` with a fresh salt. Crash-safe: the new salt is written
    /// beside the old one first, the records change in one transaction, then the salt is replaced; `open`
    /// finishes a change that stopped after its commit.
    public func changePassphrase(to passphrase: [UInt8]) throws(ProfileError) {
        let records = try allRecords() + [(name: Self.checkName, value: Self.checkValue)]
        let saltPath = directory + "/profile.salt", newSaltPath = saltPath + ".new"
        let salt = Random.bytes(Argon2id.saltBytes)
        let (names, values) = Self.keys(try Self.master(passphrase, salt))
        do { try Files.writeAtomically(newSaltPath, salt, mode: 0o600) } catch { throw .files(newSaltPath, error) }
        let store = try store
        do {
            for r in records { try store.remove(storedName(r.name)) }
            for r in records {
                let key = Hex.encode(HMACSHA256.authenticate(key: names, Array(r.name.utf8)))
                let nonce = Random.bytes(24)
                try store.set(key, nonce + XChaChaPoly.seal(key: values, nonce: nonce, ad: Array(key.utf8), r.value))
            }
            try store.flush()
        } catch { throw .store(error) }
        Memory.wipe(&nameKey)
        Memory.wipe(&valueKey)
        (nameKey, valueKey) = (names, values)
        do {
            try Files.writeAtomically(saltPath, salt, mode: 0o600)
            try Files.remove(newSaltPath)
        } catch { throw .files(saltPath, error) }
    }

    static let exportMagic = Array("postern-profile-export/1".utf8)

    /// Every record in one file, encrypted under `passphrase` (normally the profile's own):
    /// "postern-profile-export/1" ‖ salt (16) ‖ nonce (24) ‖ XChaCha20-Poly1305(key, nonce, records,
    /// ad = the magic), key = HKDF-SHA256(salt "postern/profile-export/v1", Argon2id(passphrase, salt),
    /// info "export"); records = count (u32 LE) ‖ (name, value as u32 LE length-prefixed bytes)*.
    public func exported(passphrase: [UInt8]) throws(ProfileError) -> [UInt8] {
        var w = RecordWriter(version: 1)
        let records = try allRecords()
        w.u32(UInt32(records.count))
        for r in records { w.text(r.name); w.data(r.value) }
        let salt = Random.bytes(Argon2id.saltBytes), nonce = Random.bytes(24)
        let key = try Self.exportKey(passphrase, salt)
        return Self.exportMagic + salt + nonce + XChaChaPoly.seal(key: key, nonce: nonce, ad: Self.exportMagic, w.bytes)
    }

    static func exportKey(_ passphrase: [UInt8], _ salt: [UInt8]) throws(ProfileError) -> [UInt8] {
        let m = try master(passphrase, salt)
        return try! HKDF.derive(salt: Array("postern/profile-export/v1".utf8), ikm: m, info: Array("export".utf8), count: 32)
    }

    /// A new profile in `directory` (which must not hold one) from an export, under the same passphrase.
    public static func importing(_ file: [UInt8], passphrase: [UInt8], directory: String) throws(ProfileError) -> Profile {
        let head = exportMagic.count
        guard file.count >= head + Argon2id.saltBytes + 24 + 16, Array(file[0..<head]) == exportMagic else {
            throw .refused("not a postern profile export")
        }
        let salt = Array(file[head..<(head + Argon2id.saltBytes)])
        let nonce = Array(file[(head + Argon2id.saltBytes)..<(head + Argon2id.saltBytes + 24)])
        let key = try exportKey(passphrase, salt)
        guard let plain = try? XChaChaPoly.open(key: key, nonce: nonce, ad: exportMagic, Array(file[(head + Argon2id.saltBytes + 24)...]))
        else { throw .wrongPassphrase }
        var r = RecordReader(plain)
        guard r.version == 1, let count = r.u32() else { throw .corrupt("export") }
        var records: [(name: String, value: [UInt8]?)] = []
        for _ in 0..<count {
            guard let name = r.text(), let value = r.data() else { throw .corrupt("export") }
            records.append((name, value))
        }
        guard r.atEnd else { throw .corrupt("export") }
        let profile = try create(directory: directory, passphrase: passphrase)
        try profile.write(records)
        return profile
    }
}
