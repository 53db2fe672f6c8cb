/// PBKDF2-HMAC-SHA512 (RFC 8018), as BIP39 uses it (2048 iterations) to turn a phrase into a seed.
public enum PBKDF2 {
    public static func sha512(password: [UInt8], salt: [UInt8], iterations: Int, length: Int) -> [UInt8] {
        var out: [UInt8] = []
        var block: UInt32 = 1
        while out.count < length {
            var u = HMACSHA512.authenticate(key: password, salt + [UInt8(block >> 24), UInt8(block >> 16 & 0xff), UInt8(block >> 8 & 0xff), UInt8(block & 0xff)])
            var t = u
            if iterations > 1 {
                for _ in 1..<iterations {
                    u = HMACSHA512.authenticate(key: password, u)
                    for i in 0..<64 { t[i] ^= u[i] }
                }
            }
            out += t
            Memory.wipe(&u)
            Memory.wipe(&t)
            block += 1
        }
        return Array(out.prefix(length))
    }
}
