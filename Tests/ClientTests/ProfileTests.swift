import Foundation
import PosternClient
import PosternCrypto
import Testing

@Suite struct ProfileTests {
    /// A store that is being let go (here closed by another thread after 0.3 s; in CI, a lock description
    /// a just-spawned child still shared until its exec) is waited for, not reported busy at once. With
    /// no wait, `passphraseChangeKeepsEverything` failed on a loaded CI machine with "in use by another
    /// postern process".
    @Test func openWaitsForAStoreThatIsBeingLetGo() throws {
        let dir = NSTemporaryDirectory() + "postern-profile-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let pass = Array("correct horse battery staple".utf8)
        let holder = try Profile.create(directory: dir, passphrase: pass)
        #expect(throws: ProfileError.busy(dir)) { try Profile.open(directory: dir, passphrase: pass, waitSeconds: 0) }
        nonisolated(unsafe) let held = holder
        let release = Thread { Thread.sleep(forTimeInterval: 0.3); held.close() }
        release.start()
        let reopened = try Profile.open(directory: dir, passphrase: pass)
        reopened.close()
    }

    @Test func encryptedAtRestAndWrongPassphrase() throws {
        let dir = NSTemporaryDirectory() + "postern-profile-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let pass = Array("correct horse battery staple".utf8)
        let secretKey = Random.bytes(32)
        do {
            let p = try Profile.create(directory: dir, passphrase: pass)
            try p.put("contact/Alice Liddell", Array("postern:agfal6vmpa5pgobj3khpuzpgyjd6mgtv5v".utf8))
            try p.put("message/1", Array("meet me at the usual place at noon".utf8))
            try p.put("key/identity", secretKey)
            #expect(try p.get("message/1") == Array("meet me at the usual place at noon".utf8))
            #expect(try p.remove("message/1") && (try p.get("message/1")) == nil)
            try p.put("message/2", Array("a second secret line of text".utf8))
        }
        #expect(throws: ProfileError.exists(dir)) { try Profile.create(directory: dir, passphrase: pass) }
        #expect(throws: ProfileError.wrongPassphrase) { try Profile.open(directory: dir, passphrase: Array("guess".utf8)) }
        let reopened = try Profile.open(directory: dir, passphrase: pass)
        #expect(try reopened.get("key/identity") == secretKey)
        #expect(try reopened.get("contact/Alice Liddell") != nil)
        #expect(try reopened.get("nobody") == nil)
        // No plaintext in any file of the profile: message text, key bytes, contact name, bundle.
        var files = Data()
        for name in try FileManager.default.subpathsOfDirectory(atPath: dir) {
            if let d = FileManager.default.contents(atPath: dir + "/" + name) { files.append(d) }
        }
        #expect(files.count > 0)
        for secret in ["a second secret line", "Alice Liddell", "postern:agfal6vmpa5"] {
            #expect(files.range(of: Data(secret.utf8)) == nil, "\(secret) found in the profile files")
        }
        #expect(files.range(of: Data(secretKey)) == nil)
    }

    @Test func missingProfile() {
        #expect(throws: ProfileError.self) { try Profile.open(directory: "/nonexistent/postern", passphrase: [1]) }
    }
}
