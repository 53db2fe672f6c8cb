import PosternCrypto

/// One epoch's packet key: the X25519 secret a node unwraps with, its public half (published
/// in the node's descriptor ahead of time) and the epoch's replay cache.
public final class EpochKey {
    public let epoch: UInt32
    public let secret: SecretKey
    public let publicKey: Bytes32
    public let replay: ReplayCache

    public init(epoch: UInt32, secret: consuming SecretKey, replayCapacity: Int) {
        precondition(secret.count == 32)
        self.epoch = epoch
        publicKey = Bytes32(X25519.publicKey(of: secret))!
        self.secret = secret
        replay = ReplayCache(capacity: replayCapacity)
    }

    /// A fresh random key for `epoch`.
    public convenience init(epoch: UInt32, replayCapacity: Int) {
        self.init(epoch: epoch, secret: SecretKey(randomBytes: 32), replayCapacity: replayCapacity)
    }
}

/// A node's packet keys: a handful of epochs (the previous one during a grace period, the current one,
/// and the next ones, published in advance). A packet names its epoch; an epoch not here is refused.
/// Dropping an epoch deletes its secret (forward secrecy for packets of that epoch) and its replay cache
/// in one step.
public final class Keyring {
    public private(set) var keys: [EpochKey] = []
    public let replayCapacity: Int

    public init(replayCapacity: Int = 1 << 18) { self.replayCapacity = replayCapacity }

    /// The key for `epoch`, if held. Linear scan over at most a few entries: no hashing, no allocation.
    @inline(__always)
    public func key(for epoch: UInt32) -> EpochKey? {
        for key in keys where key.epoch == epoch { return key }
        return nil
    }

    public func add(_ key: EpochKey) {
        keys.removeAll { $0.epoch == key.epoch }
        keys.append(key)
    }

    /// Ensures keys exist for `current … current + ahead` and drops every epoch older than
    /// `current - grace`. Returns the epochs that were added.
    @discardableResult
    public func rotate(current: UInt32, ahead: UInt32 = 1, grace: UInt32 = 1) -> [UInt32] {
        let oldest = current >= grace ? current - grace : 0
        keys.removeAll { $0.epoch < oldest }
        var added: [UInt32] = []
        for e in current...(current &+ ahead) where key(for: e) == nil {
            add(EpochKey(epoch: e, replayCapacity: replayCapacity))
            added.append(e)
        }
        return added
    }

    public func remove(epoch: UInt32) { keys.removeAll { $0.epoch == epoch } }
}
