import PosternChat
import PosternCrypto

/// Suite `chat`: signing and reading public-chat messages, against a bare libsecp256k1 signature.
func chatSuite() -> Suite {
    Suite(name: "chat") {
        let phrase = BIP39.newPhrase()
        let me = try! ChatIdentity(phrase: phrase), other = try! ChatIdentity(phrase: phrase)
        let secret = ChatIdentity.randomSecretForBench()
        let digest = Keccak256.hash(Array("digest".utf8))
        let named = try! me.post("hello", chatID: "bench", clock: 1, timestamp: 1, mode: .named).bytes
        var posts: [(String, [UInt8])] = []
        for (name, mode) in [("derived", PostMode.derived), ("signed", .signedRandom), ("keyless", .keyless)] {
            let p = try! me.post("hello", chatID: "bench", clock: 1, timestamp: 1, mode: mode)
            if let note = p.syncNote { other.learn(syncNote: note) }
            posts.append((name, p.bytes))
        }
        var lines: [BenchLine] = [
            .timed("secp256k1-sign") { n in for _ in 0..<n { _ = Secp256k1.sign(digest: digest, secret: secret) } },
            .timed("sign", baseline: "secp256k1-sign") { n in
                for i in 0..<n { _ = try? me.post("hello", chatID: "bench", clock: UInt64(i), timestamp: 1, mode: .named) }
            },
            .timed("verify-recover", baseline: "secp256k1-sign") { n in for _ in 0..<n { _ = try? other.classify(named) } },
        ]
        for (name, bytes) in posts {
            lines.append(.timed("recognise-own-\(name)", baseline: "secp256k1-sign") { n in
                for _ in 0..<n { _ = try? other.classify(bytes) }
            })
        }
        return lines
    }
}
