import PosternCrypto

/// BIP32 hierarchical deterministic keys on secp256k1: master key from a seed, hardened and normal child
/// derivation from private keys, xprv/xpub serialisation.
public struct ExtendedKey: Equatable {
    public let secret: [UInt8]
    public let chainCode: [UInt8]
    public let depth: UInt8
    public let parentFingerprint: [UInt8]
    public let childNumber: UInt32

    public static let hardened: UInt32 = 0x8000_0000

    public init(seed: [UInt8]) throws(SeedError) {
        let i = HMACSHA512.authenticate(key: Array("Bitcoin seed".utf8), seed)
        guard Secp256k1.isValidSecret(Array(i[0..<32])) else { throw .invalidKey }
        self.init(secret: Array(i[0..<32]), chainCode: Array(i[32..<64]), depth: 0, parentFingerprint: [0, 0, 0, 0], childNumber: 0)
    }

    init(secret: [UInt8], chainCode: [UInt8], depth: UInt8, parentFingerprint: [UInt8], childNumber: UInt32) {
        self.secret = secret
        self.chainCode = chainCode
        self.depth = depth
        self.parentFingerprint = parentFingerprint
        self.childNumber = childNumber
    }

    public var publicKey: [UInt8] { Secp256k1.publicKey(secret)! }
    public var fingerprint: [UInt8] { Array(RIPEMD160.hash(SHA2.sha256(publicKey)).prefix(4)) }

    public func child(_ index: UInt32) throws(SeedError) -> ExtendedKey {
        var data = index >= Self.hardened ? [0] + secret : publicKey
        data += [UInt8(index >> 24), UInt8(index >> 16 & 0xff), UInt8(index >> 8 & 0xff), UInt8(index & 0xff)]
        let i = HMACSHA512.authenticate(key: chainCode, data)
        guard let key = Secp256k1.add(secret: secret, tweak: Array(i[0..<32])) else { throw .invalidKey }
        return ExtendedKey(secret: key, chainCode: Array(i[32..<64]), depth: depth &+ 1, parentFingerprint: fingerprint, childNumber: index)
    }

    /// Derives along a path such as `m/43'/60'/1581'/0'/0` (`'` or `h` marks hardened).
    public func derive(_ path: String) throws(SeedError) -> ExtendedKey {
        // "m", then "/" and an index (decimal digits, "'" or "h" for hardened) per level: no empty level
        // ("m//1", "m/0/"), nothing before "m" ("/m/1"), no sign ("m/+5").
        var parts = path.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.first == "m" else { throw .badPath(path) }
        parts.removeFirst()
        var key = self
        for part in parts {
            var text = Substring(part)
            var index: UInt32 = 0
            if text.hasSuffix("'") || text.hasSuffix("h") { index = Self.hardened; text = text.dropLast() }
            guard !text.isEmpty, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let n = UInt32(text), n < Self.hardened
            else { throw .badPath(path) }
            key = try key.child(index | n)
        }
        return key
    }

    func serialized(version: UInt32, keyData: [UInt8]) -> String {
        var out: [UInt8] = [UInt8(version >> 24), UInt8(version >> 16 & 0xff), UInt8(version >> 8 & 0xff), UInt8(version & 0xff), depth]
        out += parentFingerprint
        out += [UInt8(childNumber >> 24), UInt8(childNumber >> 16 & 0xff), UInt8(childNumber >> 8 & 0xff), UInt8(childNumber & 0xff)]
        out += chainCode + keyData
        return Base58.check(out)
    }

    public var xprv: String { serialized(version: 0x0488_ADE4, keyData: [0] + secret) }
    public var xpub: String { serialized(version: 0x0488_B21E, keyData: publicKey) }
}
