import PosternCrypto

/// One address chain on its own: each step yields the next mailbox address and replaces the chain key
/// (ADDR = HMAC(AK, 0x03), AK′ = HMAC(AK, 0x04)). Used by conversations internally and by anything that
/// needs a sequence of unlinkable addresses from one secret (public-chat buckets, device sync).
/// A step allocates nothing.
public struct AddressChain {
    private var key: Bytes32

    public init(key: Bytes32) { self.key = key }

    public mutating func next() -> Bytes32 {
        let (k, address) = KDF.address(key)
        key = k
        return address
    }
}
