import PosternCrypto
import PosternNetwork
import PosternPacket
import PosternSystem

/// The node's packet keys: one X25519 secret per epoch, for the current epoch and the two ahead (so they
/// are published before anyone needs them), and the previous one until its grace period ends (packets
/// in flight at the boundary). An expired key is deleted, from memory and from the file, with the
/// epoch's replay tags: packets of that epoch can then never be unwrapped again (forward secrecy).
///
/// File (mode 0600, rewritten atomically at every change):
///
///     postern-packet-keys 1
///     key <epoch> <X25519 secret, 64 hex>
final class PacketKeys {
    /// Epochs published ahead of the current one.
    static let ahead: UInt32 = 2
    let path: String?
    let parameters: NetworkParameters
    private(set) var secrets: [(epoch: UInt32, secret: Bytes32)] = []

    /// Loads `path` if it exists (nil: memory only). Keys in a damaged file are not used (new ones are
    /// made); the damage is returned for the log.
    init(path: String?, parameters: NetworkParameters) {
        self.path = path
        self.parameters = parameters
        guard let path, let bytes = try? Files.read(path, limit: 1 << 16) else { return }
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") {
            let f = line.split(separator: " ").map(String.init)
            guard f.count == 3, f[0] == "key", let epoch = UInt32(f[1]), let secret = Bytes32(hex: f[2]) else { continue }
            secrets.append((epoch, secret))
        }
        secrets.sort { $0.epoch < $1.epoch }
    }

    deinit { wipe() }

    func wipe() {
        for i in secrets.indices { withUnsafeMutableBytes(of: &secrets[i].secret.words) { Memory.wipe($0.baseAddress!, count: 32) } }
    }

    /// Whether the key of `epoch` is still held at `now`: from before it begins until its grace ends.
    func keeps(_ epoch: UInt32, now: Int64) -> Bool {
        now < parameters.start(of: epoch &+ 1) + parameters.graceSeconds
    }

    /// Brings the set up to date for `now`: keys for the current epoch and `ahead` more, none past its
    /// grace period. Returns the epochs added and removed (both empty: nothing changed). Saves the file
    /// when something changed; a failed save is thrown after the change (the keys in memory are right).
    @discardableResult
    func rotate(now: Int64) throws(SystemError) -> (added: [UInt32], removed: [UInt32]) {
        let current = parameters.epoch(at: now)
        var removed: [UInt32] = []
        for i in secrets.indices.reversed() where !keeps(secrets[i].epoch, now: now) {
            removed.append(secrets[i].epoch)
            withUnsafeMutableBytes(of: &secrets[i].secret.words) { Memory.wipe($0.baseAddress!, count: 32) }
            secrets.remove(at: i)
        }
        var added: [UInt32] = []
        for e in current...(current &+ Self.ahead) where !secrets.contains(where: { $0.epoch == e }) {
            secrets.append((e, .random()))
            added.append(e)
        }
        secrets.sort { $0.epoch < $1.epoch }
        if !(added.isEmpty && removed.isEmpty) { try save() }
        return (added, removed.reversed())
    }

    func secret(for epoch: UInt32) -> Bytes32? { secrets.first { $0.epoch == epoch }?.secret }

    /// (epoch, public key) of every held key that is not past its epoch: what the descriptor publishes.
    func published(now: Int64) -> [(epoch: UInt32, key: Bytes32)] {
        let current = parameters.epoch(at: now)
        return secrets.filter { $0.epoch >= current }.prefix(4).map { ($0.epoch, Bytes32(X25519.publicKey(of: SecretKey(copying: $0.secret.bytes)))!) }
    }

    func save() throws(SystemError) {
        guard let path else { return }
        var text = "postern-packet-keys 1\n"
        for s in secrets { text += "key \(s.epoch) \(s.secret.hex)\n" }
        try Files.writeAtomically(path, Array(text.utf8), mode: 0o600)
    }
}
