import PosternCrypto
import PosternLink
import PosternMailbox
import PosternNetwork
import PosternPacket
import PosternSystem

/// The gateway's client protocol (docs/PROTOCOL.md §4.3; `ClientOp`, `ClientStatus`): accepts clients
/// (Noise NK as responder), takes their packets into the pipeline like a link's, and answers fetches and
/// deletes from the mailbox. A client can only name addresses: no request lists them. At most
/// `maxClients` sessions; one idle for `clientIdleNanos` is closed by a sweep that runs every quarter of
/// that while clients are connected (so after 1–1.25× the limit), and not at all when none are.
final class ClientService {
    let loop: EventLoop
    let secrets: NodeSecrets
    let geometry: Geometry
    let directory: Directory
    let options: NodeOptions
    let unwrapper: PacketUnwrapper
    let deposits: GatewayDeposits
    let counters: NodeCounters
    private(set) var socket: FileDescriptor?
    var clients: [FileDescriptor: Connection] = [:]
    /// When each client last sent a request (or connected).
    var lastActive: [FileDescriptor: UInt64] = [:]
    /// Whether an idle sweep is due (a one-off timer, re-armed while clients remain).
    var sweepArmed = false
    /// What each session watches, and its held POLL.
    let watches: ClientWatches

    init(loop: EventLoop, secrets: NodeSecrets, geometry: Geometry, directory: Directory, options: NodeOptions,
         unwrapper: PacketUnwrapper, deposits: GatewayDeposits, counters: NodeCounters) {
        self.loop = loop
        self.secrets = secrets
        self.directory = directory
        self.geometry = geometry
        self.options = options
        self.unwrapper = unwrapper
        self.deposits = deposits
        self.counters = counters
        watches = ClientWatches(maxPerClient: options.maxWatchedPerClient, maxTotal: options.maxWatchedTotal)
        deposits.onCommitted = { [self] addresses in self.committed(addresses) }
    }

    /// Starts accepting clients on the listening socket `fd` (which this stage then owns).
    func start(_ fd: FileDescriptor) {
        socket = fd
        watch()
    }

    func watch() {
        guard let socket else { return }
        try? loop.watch(socket, events: EventLoop.readable) { [self] _ in self.accept() }
    }

    func accept() {
        guard let socket else { return }
        Acceptor.drain(socket, loop: loop, counters: counters, resume: { [self] in self.watch() }) { fd in
            guard clients.count < options.maxClients else {
                counters.stats.clientsRefused += 1
                fd.close()
                return
            }
            guard let hs = try? NoiseHandshake(pattern: .NK, initiator: false, prologue: options.clientPrologue,
                                               staticKey: secrets.linkSecret.bytes) else { fd.close(); return }
            // A reply is at most one frame (64 KiB); with 64 KiB waiting the client's requests wait too.
            let c = Connection(fd: fd, loop: loop, handshake: hs, maxFrame: 65_535, maxQueued: Self.pauseAbove + 65_535 + 2,
                               handshakeTimeout: options.handshakeTimeoutNanos)
            c.pauseReadingAbove = Self.pauseAbove
            clients[fd] = c
            lastActive[fd] = EventLoop.now()
            counters.stats.clientsConnected = clients.count
            c.onMessage = { [self] c, frame in
                self.lastActive[c.fd] = EventLoop.now()
                self.handle(c, frame)
                self.boundOutput()
            }
            c.onClose = { [self] c, _ in
                self.clients[c.fd] = nil
                self.lastActive[c.fd] = nil
                self.watches.remove(c.fd)
                self.counters.stats.clientsConnected = self.clients.count
            }
            c.start()
            armSweep()
        }
    }

    /// Replies waiting for one client before its further requests wait too.
    static let pauseAbove = 1 << 16

    /// Keeps the replies waiting for all clients within `maxClientOutputBytes`: over it, the client with
    /// the most waiting is closed (honest clients read theirs; many that do not are what fills it).
    func boundOutput() {
        var total = 0, largest: Connection?
        for c in clients.values {
            total += c.queuedBytes
            if c.queuedBytes > largest?.queuedBytes ?? 0 { largest = c }
        }
        if total > options.maxClientOutputBytes, let largest {
            counters.stats.clientsOutputClosed += 1
            total -= largest.queuedBytes
            largest.close("too many replies waiting")
        }
        counters.stats.clientOutputBytes = total
    }

    func armSweep() {
        guard !sweepArmed else { return }
        sweepArmed = true
        loop.after(max(options.clientIdleNanos / 4, 1_000_000)) { [self] in self.sweep(now: EventLoop.now()) }
    }

    /// Closes the sessions idle for `clientIdleNanos` or more; re-arms while any remain.
    func sweep(now: UInt64) {
        sweepArmed = false
        guard socket != nil else { return }
        // A session with a POLL held open is waiting by design, not idle.
        for (fd, last) in lastActive where now &- last >= options.clientIdleNanos && !watches.isHolding(fd) {
            counters.stats.clientsIdleClosed += 1
            lastActive[fd] = nil
            clients[fd]?.close("idle for \(options.clientIdleNanos / 1_000_000_000) s")
        }
        if !clients.isEmpty { armSweep() }
    }

    /// Closes the listening socket and every client connection.
    func stop() {
        for c in Array(clients.values) { c.close("node stopping") }
        if let socket {
            loop.unwatch(socket)
            socket.close()
        }
        socket = nil
    }

    static func reply(_ c: Connection, _ op: ClientOp, _ id: UInt32, _ status: ClientStatus, _ payload: [UInt8] = []) {
        _ = c.send([0x80 | op.code, UInt8(id >> 24), UInt8(id >> 16 & 0xff), UInt8(id >> 8 & 0xff), UInt8(id & 0xff), status.code] + payload)
    }

    func handle(_ c: Connection, _ frame: UnsafeRawBufferPointer) {
        guard let (op, id, request) = ClientRequest.parse(frame, packetBytes: geometry.packetBytes) else {
            c.close("malformed client request")
            return
        }
        func respond(_ status: ClientStatus, _ payload: [UInt8] = []) { Self.reply(c, op, id, status, payload) }
        guard let request else { respond(.badRequest); return }
        switch request {
        case .submit(let packet):
            if let error = unwrapper.handle(packet) {
                respond(.refused, Array(error.description.utf8))
            } else {
                respond(.ok)
            }
        case .fetch(let addresses):
            guard let mailbox = deposits.mailbox else { respond(.badRequest); return }
            var entries: [UInt8] = []
            var count = 0
            let budget = 60_000
            for (i, address) in addresses.enumerated() {
                guard let messages = try? mailbox.fetch(address: address, limit: 64) else { respond(.storeError); return }
                for m in messages where entries.count + 11 + m.blob.count <= budget {
                    entries.append(UInt8(i))
                    withUnsafeBytes(of: m.id.bigEndian) { entries += $0 }
                    entries += [UInt8(m.blob.count >> 8), UInt8(m.blob.count & 0xff)]
                    entries += m.blob
                    count += 1
                }
            }
            respond(.ok, [UInt8(count >> 8), UInt8(count & 0xff)] + entries)
        case .view(let from, let wanted):
            let offset = Int(from)
            let now = Clock.wallSeconds()
            directory.want(wanted, now: now)
            let all = directory.clientShare(now: now)
                .sorted { $0.id.bytes.lexicographicallyPrecedes($1.id.bytes) }
            var out: [UInt8] = [UInt8(all.count >> 24 & 0xff), UInt8(all.count >> 16 & 0xff), UInt8(all.count >> 8 & 0xff), UInt8(all.count & 0xff), 0, 0]
            var n = 0
            if offset < all.count {
                for d in all[offset...] {
                    guard out.count + 2 + d.bytes.count <= 60_000, n < 65_535 else { break }
                    out += [UInt8(d.bytes.count >> 8), UInt8(d.bytes.count & 0xff)] + d.bytes
                    n += 1
                }
            }
            out[4] = UInt8(n >> 8)
            out[5] = UInt8(n & 0xff)
            respond(.ok, out)
        case .poll(let poll):
            self.poll(c, id, poll)
        case .delete(let address, let messageID):
            guard let mailbox = deposits.mailbox else { respond(.badRequest); return }
            do {
                let found = try mailbox.delete(address: address, id: messageID)
                deposits.changed()
                respond(found ? .ok : .refused)
            } catch {
                respond(.storeError)
            }
        }
    }
}
