import PosternCrypto

public enum SeedError: Error, Equatable, CustomStringConvertible {
    case unknownWord(String)
    case badLength(Int)
    case badChecksum
    case badPath(String)
    case invalidKey

    public var description: String {
        switch self {
        case .unknownWord(let w): "'\(w)' is not a BIP39 word"
        case .badLength(let n): "a phrase has 12, 15, 18, 21 or 24 words, not \(n)"
        case .badChecksum: "the phrase's checksum does not match (a word is wrong or misplaced)"
        case .badPath(let p): "bad derivation path '\(p)'"
        case .invalidKey: "derived key is invalid"
        }
    }
}

/// BIP39 seed phrases: entropy ↔ words (11 bits per word, SHA-256 checksum), and the 64-byte seed =
/// PBKDF2-HMAC-SHA512(phrase, "mnemonic" ‖ passphrase, 2048).
public enum BIP39 {
    nonisolated(unsafe) static var cachedWords: [String] = []

    static var words: [String] {
        if cachedWords.isEmpty {
            cachedWords = BIP39Words.text.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init)
        }
        return cachedWords
    }

    /// The wordlist's text as shipped (for the checksum test).
    public static var wordlistText: String { words.joined(separator: "\n") + "\n" }

    public static func phrase(entropy: [UInt8]) -> [String] {
        precondition([16, 20, 24, 28, 32].contains(entropy.count))
        let checksum = SHA2.sha256(entropy)[0]
        var bits: [Bool] = []
        for byte in entropy + [checksum] { for i in (0..<8).reversed() { bits.append(byte >> UInt8(i) & 1 == 1) } }
        let count = entropy.count * 8 * 33 / 32 / 11
        return (0..<count).map { w in
            var index = 0
            for b in 0..<11 { index = index << 1 | (bits[w * 11 + b] ? 1 : 0) }
            return words[index]
        }
    }

    /// A fresh 12-word phrase from the kernel's CSPRNG (128 bits).
    public static func newPhrase(words count: Int = 12) -> [String] {
        phrase(entropy: Random.bytes(count * 11 * 32 / 33 / 8))
    }

    /// Checks a phrase and returns its entropy.
    public static func entropy(_ phrase: [String]) throws(SeedError) -> [UInt8] {
        guard [12, 15, 18, 21, 24].contains(phrase.count) else { throw .badLength(phrase.count) }
        var bits: [Bool] = []
        for word in phrase {
            guard let index = words.firstIndex(of: word.lowercased()) else { throw .unknownWord(word) }
            for b in (0..<11).reversed() { bits.append(index >> b & 1 == 1) }
        }
        let entropyBits = bits.count * 32 / 33
        var entropy: [UInt8] = []
        for i in stride(from: 0, to: entropyBits, by: 8) {
            var byte: UInt8 = 0
            for b in 0..<8 { byte = byte << 1 | (bits[i + b] ? 1 : 0) }
            entropy.append(byte)
        }
        let check = SHA2.sha256(entropy)[0]
        for b in 0..<(bits.count - entropyBits) where bits[entropyBits + b] != (check >> UInt8(7 - b) & 1 == 1) {
            throw .badChecksum
        }
        return entropy
    }

    public static func seed(phrase: [String], passphrase: String = "") throws(SeedError) -> [UInt8] {
        _ = try entropy(phrase)
        return PBKDF2.sha512(password: Array(phrase.joined(separator: " ").utf8), salt: Array(("mnemonic" + passphrase).utf8),
                             iterations: 2048, length: 64)
    }
}
