import PosternCrypto

/// Base58Check (Bitcoin alphabet; checksum = first 4 bytes of SHA-256(SHA-256(payload))), for xprv/xpub.
enum Base58 {
    static let alphabet: [UInt8] = Array("123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz".utf8)

    static func encode(_ bytes: [UInt8]) -> String {
        var digits: [UInt8] = []   // base-58 digits, least significant first
        for byte in bytes {
            var carry = Int(byte)
            for i in 0..<digits.count {
                carry += Int(digits[i]) << 8
                digits[i] = UInt8(carry % 58)
                carry /= 58
            }
            while carry > 0 { digits.append(UInt8(carry % 58)); carry /= 58 }
        }
        let zeros = bytes.prefix { $0 == 0 }.count
        return String(decoding: [UInt8](repeating: alphabet[0], count: zeros) + digits.reversed().map { alphabet[Int($0)] }, as: UTF8.self)
    }

    static func check(_ payload: [UInt8]) -> String {
        encode(payload + Array(SHA2.sha256(SHA2.sha256(payload)).prefix(4)))
    }
}
