import PosternCrypto
import PosternLink
import PosternMailbox
import PosternNetwork
import PosternSystem

/// POLL at the gateway (docs/PROTOCOL.md §4.3): a session's watched addresses change, and what waits at
/// them is answered at once, or, when nothing does and the client asked to wait, when the next commit
/// stores something there or the hold ends ("nothing new": count 0, 9 bytes on the wire besides the
/// frame's 18). A new POLL answers a held one empty first.
extension ClientService {
    /// The answer when nothing waits: count 0, not more.
    static let nothingNew: [UInt8] = [0, 0, 0]
    /// A POLL answer carries at most this many bytes of entries; the rest waits (`more`).
    static let pollAnswerBudget = 60_000

    func poll(_ c: Connection, _ id: UInt32, _ poll: PollRequest) {
        guard let mailbox = deposits.mailbox else { Self.reply(c, .poll, id, .badRequest); return }
        if let held = watches.release(c.fd) { Self.reply(c, .poll, held, .ok, Self.nothingNew) }
        guard watches.apply(c.fd, poll) else {
            counters.stats.pollsRefused += 1
            Self.reply(c, .poll, id, .refused, Array("too many watched addresses (at most \(options.maxWatchedPerClient) per session, \(options.maxWatchedTotal) in all)".utf8))
            return
        }
        guard poll.answer else { Self.reply(c, .poll, id, .ok, Self.nothingNew); return }
        guard let (body, count) = waiting(c.fd, mailbox) else { Self.reply(c, .poll, id, .storeError); return }
        guard count == 0 && poll.holdSeconds > 0 else { Self.reply(c, .poll, id, .ok, body); return }
        counters.stats.pollsHeld += 1
        let generation = watches.hold(c.fd, id: id)
        loop.after(UInt64(poll.holdSeconds) * 1_000_000_000) { [self] in
            guard let held = self.watches.release(c.fd, generation: generation) else { return }
            Self.reply(c, .poll, held, .ok, Self.nothingNew)
        }
    }

    /// A commit made deposits durable at `addresses`: the held POLLs watching any of them are answered.
    func committed(_ addresses: [Bytes32]) {
        guard watches.total > 0, let mailbox = deposits.mailbox else { return }
        watches.stored(at: addresses)
        for fd in watches.holding(watching: addresses) {
            guard let c = clients[fd], let id = watches.release(fd) else { continue }
            if let (body, _) = waiting(fd, mailbox) { Self.reply(c, .poll, id, .ok, body) } else { Self.reply(c, .poll, id, .storeError) }
            lastActive[fd] = EventLoop.now()
        }
        boundOutput()
    }

    /// The POLL answer body for what waits at the session's addresses, and how many entries it holds;
    /// nil if the store failed. Looks only where something may wait (`ClientWatches.Watch.waiting`), in
    /// one read transaction.
    func waiting(_ fd: FileDescriptor, _ mailbox: MailboxStore) -> (body: [UInt8], count: Int)? {
        var entries: [UInt8] = [0, 0, 0]
        var count = 0, more = false
        let candidates = watches.waiting(fd)
        counters.stats.pollLookups += candidates.count
        var nonEmpty: Set<Bytes32> = []
        do {
            try mailbox.fetch(addresses: candidates) { address, m in
                nonEmpty.insert(address)
                guard entries.count + 42 + m.blob.count <= Self.pollAnswerBudget + 3, count < 65_535 else { more = true; return false }
                entries += address.bytes
                withUnsafeBytes(of: m.id.bigEndian) { entries += $0 }
                entries += [UInt8(m.blob.count >> 8), UInt8(m.blob.count & 0xff)]
                entries += m.blob
                count += 1
                return true
            }
        } catch { return nil }
        // Stopped early: what was not looked at stays a candidate.
        if !more { watches.found(fd, empty: candidates.filter { !nonEmpty.contains($0) }) }
        entries[0] = UInt8(count >> 8)
        entries[1] = UInt8(count & 0xff)
        entries[2] = more ? 1 : 0
        return (entries, count)
    }
}
