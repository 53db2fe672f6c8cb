import PosternCrypto
import PosternLink
import PosternNetwork
import PosternSystem

/// A client's connection to its gateway (Noise NK: the client proves nothing about who it is).
/// Requests may be issued before the handshake completes; they are sent once it has.
public final class GatewayClient {
    public struct Fetched {
        public let address: Bytes32
        public let id: UInt64
        public let blob: [UInt8]
    }

    let loop: EventLoop
    public let gateway: NodeInfo
    var connection: Connection?
    var queued: [(frame: [UInt8], category: UsageCategory)] = []
    var waiting: [UInt32: (category: UsageCategory, done: ([UInt8], ClientStatus) -> Void)] = [:]
    /// Bytes on this connection since the last `takeUsage()`, by category (docs/CLIENT.md §7).
    public private(set) var usage = UsageCounts()
    var nextRequest: UInt32 = 1
    public var onDisconnect: ((String) -> Void)?
    public var isConnected: Bool { connection?.isEstablished ?? false }

    public init(loop: EventLoop, gateway: NodeInfo) {
        self.loop = loop
        self.gateway = gateway
    }

    var resolving = false
    /// Connection attempts that failed in a row (no TCP connection, or closed before the handshake
    /// completed), and when the next attempt may start (`EventLoop.now()` ns).
    public private(set) var failures = 0
    var retryAt: UInt64 = 0
    /// After the n-th failure in a row the next attempt waits 1 · 2ⁿ⁻¹ s, at most 60 s, each wait ±25%
    /// at random (so clients that lost one gateway together do not come back in step). Requests in the
    /// wait fail at once; nothing is queued for later (a profile's messages stay in its outbox).
    public static let firstRetrySeconds = 1.0, longestRetrySeconds = 60.0

    /// Starts connecting (a host name is resolved first, off the loop); safe to call again after a
    /// disconnect. Within a backoff wait it fails what is waiting instead.
    public func connect() {
        guard connection == nil, !resolving else { return }
        guard let endpoint = gateway.clientAddress else { failAll("the gateway has no client address"); return }
        let now = EventLoop.now()
        guard now >= retryAt else {
            let seconds = Double(retryAt - now) / 1e9
            failAll("the gateway at \(endpoint) was unreachable; trying again in \(Format.fixed(seconds, seconds < 10 ? 1 : 0)) s")
            return
        }
        resolving = true
        TCP.connect(endpoint, on: loop) { [self] fd, error in
            self.resolving = false
            guard self.connection == nil else { fd?.close(); return }
            guard let fd, let hs = try? NoiseHandshake(pattern: .NK, initiator: true, prologue: Prologue.client,
                                                       remoteStatic: self.gateway.linkKey.bytes) else {
                fd?.close()
                self.failed()
                self.failAll("cannot connect to the gateway at \(endpoint)" + (error.isEmpty ? "" : ": \(error)"))
                return
            }
            self.dialled(fd, hs)
        }
    }

    /// One more failure in a row: the next attempt waits (see `firstRetrySeconds`).
    func failed() {
        failures += 1
        let wait = min(Self.longestRetrySeconds, Self.firstRetrySeconds * Double(1 << min(failures - 1, 20)))
        let jitter = 0.75 + 0.5 * Double(Random.uint64() >> 11) / 9_007_199_254_740_992.0
        retryAt = EventLoop.now() &+ UInt64(wait * jitter * 1e9)
    }

    /// Bytes of one Noise frame on the wire: its 2-byte length, the plaintext, the 16-byte tag.
    static func wireBytes(_ plaintext: Int) -> Int { 2 + plaintext + 16 }
    /// Noise NK: the client's `e, es` (32 + an empty payload's tag) and the gateway's `e, ee`, framed.
    static let handshakeBytes = 2 + 32 + 16

    /// What this connection moved since the last call, and starts counting again.
    public func takeUsage() -> UsageCounts {
        defer { usage = UsageCounts() }
        return usage
    }

    func dialled(_ fd: FileDescriptor, _ hs: NoiseHandshake) {
        let c = Connection(fd: fd, loop: loop, handshake: hs, maxFrame: 65_535, maxQueued: 4 << 20, connecting: true)
        connection = c
        usage.add(.handshakes, up: Self.handshakeBytes, down: 0)
        var established = false
        c.onEstablished = { [self] c in
            established = true
            self.failures = 0
            self.usage.add(.handshakes, up: 0, down: Self.handshakeBytes)
            for request in self.queued {
                self.usage.add(request.category, up: Self.wireBytes(request.frame.count), down: 0)
                c.send(request.frame)
            }
            self.queued.removeAll()
        }
        c.onMessage = { [self] _, frame in self.response(Array(frame)) }
        c.onClose = { [self] _, reason in
            self.connection = nil
            if !established { self.failed() }
            self.failAll(reason)
        }
        c.start()
    }

    /// Every request still waiting (sent or not) fails, so no caller waits forever and nothing queued
    /// for a dead connection goes out later on a new one.
    func failAll(_ reason: String) {
        registered = []
        let pending = waiting
        waiting.removeAll()
        queued.removeAll()
        for (_, waiter) in pending { waiter.done(Array(reason.utf8), .storeError) }
        onDisconnect?(reason)
    }

    public func close() { connection?.close("client closing") }

    @discardableResult
    func request(_ op: ClientOp, _ body: [UInt8], category submitted: UsageCategory = .messages,
                 _ done: @escaping ([UInt8], ClientStatus) -> Void) -> UInt32 {
        let id = nextRequest
        nextRequest &+= 1
        let category: UsageCategory
        switch op {
        case .submit: category = submitted
        case .fetch, .delete, .poll: category = .fetches
        case .view: category = .map
        }
        waiting[id] = (category, done)
        let frame = [op.code, UInt8(id >> 24), UInt8(id >> 16 & 0xff), UInt8(id >> 8 & 0xff), UInt8(id & 0xff)]
            + (op == .submit || op == .poll ? body : ClientRequest.padded(body))   // a POLL body is already sized
        if let c = connection, c.isEstablished {
            usage.add(category, up: Self.wireBytes(frame.count), down: 0)
            c.send(frame)
        } else {
            queued.append((frame, category))
            if connection == nil && !resolving { connect() }
        }
        return id
    }

    func response(_ frame: [UInt8]) {
        guard let (id, status, body) = ClientResponse.parse(frame), let waiter = waiting.removeValue(forKey: id) else { return }
        usage.add(waiter.category, up: 0, down: Self.wireBytes(frame.count))
        waiter.done(Array(body), status)
    }

    /// Hands a packet (first hop: this gateway) to the mixnet; `cover`: counted as cover, not a message.
    public func submit(_ packet: [UInt8], cover: Bool = false, _ done: @escaping (ClientStatus, String) -> Void) {
        request(.submit, packet, category: cover ? .cover : .messages) { body, status in done(status, String(decoding: body, as: UTF8.self)) }
    }

    /// Messages waiting at any of `addresses` (up to 32 per call).
    public func fetch(_ addresses: [Bytes32], _ done: @escaping ([Fetched]?) -> Void) {
        precondition(addresses.count <= 32)
        var body = [UInt8(addresses.count)]
        for a in addresses { body += a.bytes }
        request(.fetch, body) { body, status in
            guard status == .ok, let entries = ClientResponse.fetched(body[...], addressCount: addresses.count) else { done(nil); return }
            done(entries.map { Fetched(address: addresses[$0.index], id: $0.id, blob: $0.blob) })
        }
    }

    /// What the gateway watches for this connection, as far as this client told it (a new connection
    /// starts with nothing), and whether the next POLL must start with `clear` (after one failed, the
    /// gateway's set is not known).
    var registered: Set<Bytes32> = []
    var clearNext = false
    /// A POLL not answered this long after its hold ended means the connection died without a word (a
    /// phone changing networks, a NAT forgetting it): the connection is closed, the poll fails, and the
    /// next request connects again.
    public var answerGraceSeconds = 30.0

    /// What waits at `wanted` (docs/PROTOCOL.md §4.3, `PollRequest`). The gateway is told only how
    /// `wanted` differs from what it watches for this connection (31 changes per POLL; those before the
    /// last are not answered), so a poll with nothing changed is one 27-byte request whatever the number
    /// of addresses. The last POLL is answered at once, or, with `holdSeconds`, when something arrives at
    /// a watched address (at most that long). `done(items, more, ok)`: `more`, the answer was full and more
    /// waits; `ok` false if any of the requests failed (the items that came are still passed).
    public func poll(_ wanted: Set<Bytes32>, holdSeconds: UInt16 = 0,
                     _ done: @escaping (_ items: [Fetched], _ more: Bool, _ ok: Bool) -> Void) {
        var clear = clearNext
        var adds = clear ? Array(wanted) : Array(wanted.subtracting(registered))
        var removes = clear ? [] : Array(registered.subtracting(wanted))
        clearNext = false
        registered = wanted
        var requests: [PollRequest] = []
        repeat {
            let a = min(adds.count, PollRequest.maxChanges), r = min(removes.count, PollRequest.maxChanges - a)
            requests.append(PollRequest(answer: false, clear: clear, add: Array(adds[..<a]), remove: Array(removes[..<r])))
            adds.removeFirst(a)
            removes.removeFirst(r)
            clear = false
        } while !adds.isEmpty || !removes.isEmpty
        requests[requests.count - 1].answer = true
        requests[requests.count - 1].holdSeconds = min(holdSeconds, PollRequest.maxHoldSeconds)
        var failed = false
        for (i, p) in requests.enumerated() {
            let id = request(.poll, p.body) { [self] body, status in
                if status != .ok {
                    failed = true
                    self.registered = []
                    self.clearNext = true
                }
                guard i == requests.count - 1 else { return }
                guard status == .ok, let (items, more) = ClientResponse.polled(body[...]) else { done([], false, false); return }
                done(items.map { Fetched(address: $0.address, id: $0.id, blob: $0.blob) }, more, !failed)
            }
            guard i == requests.count - 1 else { continue }
            let hold = Double(requests[i].holdSeconds)
            loop.after(UInt64((hold + answerGraceSeconds) * 1e9)) { [self] in
                guard self.waiting[id] != nil, let c = self.connection, c.isEstablished else { return }
                c.close("no answer to a poll \(Format.fixed(self.answerGraceSeconds, 0)) s after its hold: the connection is gone")
            }
        }
    }

    /// One page of the gateway's view: (total, descriptors from `offset` on), or nil on failure.
    /// One page of the gateway's descriptors from `offset` on; `wanted`: ids this client needs (at most
    /// `ClientRequest.maxWanted` are sent).
    public func view(offset: Int, wanted: [Bytes32] = [], _ done: @escaping ((total: Int, descriptors: [[UInt8]])?) -> Void) {
        let o = UInt32(clamping: offset)
        let named = wanted.prefix(ClientRequest.maxWanted)
        var body = [UInt8(o >> 24), UInt8(o >> 16 & 0xff), UInt8(o >> 8 & 0xff), UInt8(o & 0xff), UInt8(named.count)]
        for x in named { body += x.bytes }
        request(.view, body) { body, status in
            guard status == .ok, let page = ClientResponse.viewPage(body[...]) else { done(nil); return }
            done(page)
        }
    }

    public func delete(address: Bytes32, id: UInt64, _ done: @escaping (Bool) -> Void = { _ in }) {
        var body = address.bytes
        withUnsafeBytes(of: id.bigEndian) { body += $0 }
        request(.delete, body) { _, status in done(status == .ok) }
    }
}
