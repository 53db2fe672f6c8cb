import PosternCrypto
import PosternNetwork
import PosternSystem

/// The gateway's side of POLL (docs/PROTOCOL.md §4.3, `PollRequest`): the addresses each client session
/// watches, an index from an address to the sessions watching it (so a commit finds whom to answer
/// without looking at every session), and the one POLL each session may have held open. Nothing here
/// outlives the connection: a new one starts with nothing watched.
final class ClientWatches {
    struct Watch {
        var addresses: Set<Bytes32> = []
        /// The watched addresses that may hold messages: each one newly watched, and each a commit stored
        /// something at since; an answer looks only at these, and forgets the ones it found empty (so a
        /// poll costs the gateway what waits, not what is watched).
        var waiting: Set<Bytes32> = []
        /// The POLL held open (request id), and the generation that names this holding.
        var held: (id: UInt32, generation: UInt64)?
    }

    var watches: [FileDescriptor: Watch] = [:]
    var index: [Bytes32: [FileDescriptor]] = [:]
    /// Every hold gets a new generation, so a timer for an answered (or closed, fd reused) hold does nothing.
    var generation: UInt64 = 0
    let maxPerClient: Int, maxTotal: Int

    init(maxPerClient: Int, maxTotal: Int) {
        self.maxPerClient = maxPerClient
        self.maxTotal = maxTotal
    }

    /// Addresses watched by all sessions together.
    var total: Int { index.count }

    func addresses(_ fd: FileDescriptor) -> Set<Bytes32> { watches[fd]?.addresses ?? [] }

    /// The session's addresses that may hold messages (see `Watch.waiting`).
    func waiting(_ fd: FileDescriptor) -> Set<Bytes32> { watches[fd]?.waiting ?? [] }

    /// `empty` held nothing when looked at: no need to look again until a commit stores something there.
    func found(_ fd: FileDescriptor, empty: [Bytes32]) {
        for a in empty { watches[fd]?.waiting.remove(a) }
    }

    /// A commit stored something at `addresses`: every session watching one of them looks there next.
    func stored(at addresses: [Bytes32]) {
        for a in addresses {
            for fd in index[a] ?? [] { watches[fd]?.waiting.insert(a) }
        }
    }

    /// Applies a POLL's changes (clear, then remove, then add); false, and nothing changed, if the
    /// session would watch more than `maxPerClient` addresses or all sessions more than `maxTotal`.
    func apply(_ fd: FileDescriptor, _ poll: PollRequest) -> Bool {
        var w = watches[fd] ?? Watch()
        let kept = poll.clear ? 0 : w.addresses.count - poll.remove.filter { w.addresses.contains($0) }.count
        let added = poll.add.filter { poll.clear || !w.addresses.contains($0) }.count
        guard kept + added <= maxPerClient, index.count + added <= maxTotal else { return false }
        if poll.clear {
            for a in w.addresses { unindex(a, fd) }
            w.addresses.removeAll()
            w.waiting.removeAll()
        }
        for a in poll.remove where w.addresses.remove(a) != nil {
            unindex(a, fd)
            w.waiting.remove(a)
        }
        for a in poll.add where w.addresses.insert(a).inserted {
            index[a, default: []].append(fd)
            w.waiting.insert(a)
        }
        watches[fd] = w
        return true
    }

    func unindex(_ a: Bytes32, _ fd: FileDescriptor) {
        guard var list = index[a] else { return }
        list.removeAll { $0 == fd }
        index[a] = list.isEmpty ? nil : list
    }

    /// The session closed: everything it watched is forgotten.
    func remove(_ fd: FileDescriptor) {
        guard let w = watches.removeValue(forKey: fd) else { return }
        for a in w.addresses { unindex(a, fd) }
    }

    /// Holds the POLL `id` open; returns its generation.
    func hold(_ fd: FileDescriptor, id: UInt32) -> UInt64 {
        generation &+= 1
        watches[fd, default: Watch()].held = (id, generation)
        return generation
    }

    /// The held POLL's id, no longer held (`generation`: only if it is still that holding).
    func release(_ fd: FileDescriptor, generation: UInt64? = nil) -> UInt32? {
        guard let held = watches[fd]?.held, generation == nil || held.generation == generation else { return nil }
        watches[fd]?.held = nil
        return held.id
    }

    func isHolding(_ fd: FileDescriptor) -> Bool { watches[fd]?.held != nil }

    /// The sessions with a held POLL that watch any of `addresses`.
    func holding(watching addresses: [Bytes32]) -> [FileDescriptor] {
        var out: [FileDescriptor] = []
        for a in addresses {
            for fd in index[a] ?? [] where watches[fd]?.held != nil && !out.contains(fd) { out.append(fd) }
        }
        return out
    }
}
