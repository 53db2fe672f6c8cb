import PosternPacket
import PosternStore
import PosternSystem

/// Stage: replay protection that survives restarts (docs/PROTOCOL.md §2.8). The tag of every packet the
/// unwrapper accepts is noted in a buffer allocated once; once per `window` (and whenever the buffer
/// fills) the noted tags are written to the node's state store in one transaction, off the per-packet
/// path. A node stopped with SIGTERM commits everything; one killed with SIGKILL forgets at most the
/// tags of the last window (1 s by default). At start the tags of every epoch whose key is held go back
/// into the keyring's replay caches; deleting an epoch's key deletes its tags.
final class ReplayLog: Timed {
    let window: UInt64
    let capacity = 16_384
    private(set) var store: ReplayTagStore?
    let pending: UnsafeMutablePointer<(epoch: UInt32, tag: (UInt64, UInt64))>
    var count = 0
    var windowStart: UInt64?
    let log: (String) -> Void
    /// Tags written, and tags loaded back at start (for tests and the log).
    private(set) var written = 0, loaded = 0

    init(store: RecordStore?, window: UInt64 = 1_000_000_000, log: @escaping (String) -> Void) {
        self.store = store.map { ReplayTagStore(store: $0) }
        self.window = window
        self.log = log
        pending = .allocate(capacity: capacity)
    }

    deinit { pending.deallocate() }

    /// Notes an accepted packet's tag (no allocation).
    @inline(__always)
    func note(_ entry: (epoch: UInt32, tag: (UInt64, UInt64))) {
        guard store != nil else { return }
        pending[count] = entry
        count += 1
        if windowStart == nil { windowStart = EventLoop.now() }
        if count == capacity { commit() }
    }

    var nextDeadline: UInt64? { windowStart.map { $0 &+ window } }

    func fire(now: UInt64) {
        if let windowStart, now &- windowStart >= window { commit() }
    }

    /// Writes the noted tags, one epoch at a time, and commits.
    func commit() {
        windowStart = nil
        guard let store, count > 0 else { count = 0; return }
        var epochs: [UInt32] = []
        for i in 0..<count where !epochs.contains(pending[i].epoch) { epochs.append(pending[i].epoch) }
        do {
            for e in epochs {
                var tags: [(UInt64, UInt64)] = []
                tags.reserveCapacity(count)
                for i in 0..<count where pending[i].epoch == e { tags.append(pending[i].tag) }
                try tags.withUnsafeBufferPointer { (t) throws(StoreError) in try store.record(epoch: e, t) }
            }
            try store.store.flush()
            written += count
        } catch {
            log("warning: replay tags not saved (a restart could accept replays of the last \(count) packets): \(error.description)")
        }
        count = 0
    }

    /// Fills the replay caches of the held epochs from disk and forgets the tags of epochs no longer held.
    func load(into keyring: Keyring) {
        guard let store else { return }
        do {
            for e in try store.epochs() {
                guard let key = keyring.key(for: e) else {
                    try store.drop(epoch: e)
                    continue
                }
                for tag in try store.tags(epoch: e) where key.replay.insert(tag) == .inserted { loaded += 1 }
            }
            try store.store.flush()
        } catch {
            log("warning: cannot read the saved replay tags: \(error.description)")
        }
    }

    /// The epoch's key was deleted: its tags go too.
    func drop(epoch: UInt32) {
        guard let store else { return }
        commit()
        do {
            try store.drop(epoch: epoch)
            try store.store.flush()
        } catch {
            log("warning: cannot delete the replay tags of epoch \(epoch): \(error.description)")
        }
    }

    /// Commits what is noted and lets go of the store.
    func close() {
        commit()
        store = nil
    }
}
