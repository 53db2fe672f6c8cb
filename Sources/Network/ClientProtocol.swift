import PosternCrypto

/// What nodes and clients both speak: the link and client-session prologues, and the gateway's client
/// protocol inside a Noise NK session.
public enum Prologue {
    /// Noise XK between nodes (docs/PROTOCOL.md §3).
    public static let link = Array("postern/link/1".utf8)
    /// Noise NK between a client and its gateway (docs/PROTOCOL.md §4.3).
    public static let client = Array("postern/client/1".utf8)
}

/// The gateway's client protocol, inside a Noise NK session (docs/PROTOCOL.md §4.3). Requests:
///
///     op (1) ‖ request id (u32 BE) ‖ body
///     1 SUBMIT  body = one packet, whose first hop is this gateway
///     2 FETCH   body = n (1) ‖ n × address (32)     up to 32 addresses per request
///     3 DELETE  body = address (32) ‖ message id (u64 BE)
///     4 VIEW    body = offset (u32 BE) ‖ n (1) ‖ n × node id (32): the gateway's descriptors from that
///               index on; n ≤ `ClientRequest.maxWanted` ids the client needs (its contacts' gateways),
///               which a gateway keeping a partial view looks for and keeps (docs/PROTOCOL.md §5.8)
///     5 POLL    body = flags (1) ‖ hold seconds (u16 BE) ‖ a (1) ‖ r (1) ‖ a × address to watch
///               ‖ r × address to stop watching; a + r ≤ 31 (`PollRequest`)
///
/// Responses: 0x80|op ‖ request id ‖ status (1: 0 ok, 1 bad request, 2 refused, 3 store error) ‖ body.
/// FETCH's body = count (u16 BE) ‖ count × (address index (1) ‖ id (u64 BE) ‖ length (u16 BE) ‖ blob),
/// as many as fit in one frame; the client asks again for the rest. VIEW's body = total (u32 BE) ‖ n (u16)
/// ‖ n × (length (u16) ‖ descriptor), as many as fit in one frame, in the gateway's order (sorted by node
/// id); the client asks again from offset + n until it has `total`. POLL's body = count (u16 BE) ‖ more (1)
/// ‖ count × (address (32) ‖ id (u64 BE) ‖ length (u16 BE) ‖ blob): what waits at the session's watched
/// addresses, as much as fits in 60 000 bytes (`more` = 1: the rest waits for the next POLL). A client can
/// only name addresses: no request lists them.
///
/// (Plain enums with explicit code switches rather than `UInt8` raw-value enums, whose conversion tables
/// are constant arrays: see the ObjectOutliner note in cross/README.md.)
public enum ClientOp: Equatable {
    case submit, fetch, delete, view, poll

    public var code: UInt8 {
        switch self {
        case .submit: 1
        case .fetch: 2
        case .delete: 3
        case .view: 4
        case .poll: 5
        }
    }

    public init?(code: UInt8) {
        switch code {
        case 1: self = .submit
        case 2: self = .fetch
        case 3: self = .delete
        case 4: self = .view
        case 5: self = .poll
        default: return nil
        }
    }
}

public enum ClientStatus: Equatable {
    case ok, badRequest, refused, storeError

    public var code: UInt8 {
        switch self {
        case .ok: 0
        case .badRequest: 1
        case .refused: 2
        case .storeError: 3
        }
    }

    public init(code: UInt8) {
        switch code {
        case 0: self = .ok
        case 1: self = .badRequest
        case 2: self = .refused
        default: self = .storeError
        }
    }
}

/// The kind byte that starts every blob a gateway stores (docs/PROTOCOL.md §4.4):
///
///     1 message  ‖ the data a forward packet delivered (its `Delivery` area, acknowledgement SURB removed)
///     2 reply    ‖ SURB id (16) ‖ the reply payload, still encrypted for the SURB's creator
public enum StoredKind: Equatable {
    case message, reply

    public var code: UInt8 {
        switch self {
        case .message: 1
        case .reply: 2
        }
    }

    public init?(code: UInt8) {
        switch code {
        case 1: self = .message
        case 2: self = .reply
        default: return nil
        }
    }

    /// The kind of a stored blob (nil when empty or unknown).
    public init?(blob: [UInt8]) {
        guard let first = blob.first else { return nil }
        self.init(code: first)
    }
}

/// A client request as a gateway reads it (layout on `ClientOp`). `parse` is the only place the gateway
/// looks at a request's bytes.
public enum ClientRequest {
    /// One packet for the mixnet (exactly the geometry's packet size; borrowed from the frame).
    case submit(packet: UnsafeRawBufferPointer)
    /// Up to 32 distinct addresses.
    case fetch(addresses: [Bytes32])
    case delete(address: Bytes32, id: UInt64)
    /// The gateway's descriptors from this index on, and the ids the client needs (at most `maxWanted`).
    case view(offset: UInt32, wanted: [Bytes32])
    /// Changes to the session's watched addresses, and (if `answer`) what waits at them.
    case poll(PollRequest)

    /// What a frame asks for. nil: not a request at all (shorter than op and id, or an unknown op); the
    /// gateway closes the session. `request` nil: a known op whose body is wrong (answered `bad request`):
    /// a packet of the wrong size; a FETCH, DELETE or VIEW body not exactly `controlBodyBytes` long or
    /// not zero after its content; a FETCH whose count is 0 or over 32 or that names an address twice (the
    /// same one 32 times would send its messages back 32 times: a 57× amplification).
    public static func parse(_ frame: UnsafeRawBufferPointer, packetBytes: Int) -> (op: ClientOp, id: UInt32, request: ClientRequest?)? {
        guard frame.count >= 5, let op = ClientOp(code: frame[0]) else { return nil }
        let id = UInt32(frame[1]) << 24 | UInt32(frame[2]) << 16 | UInt32(frame[3]) << 8 | UInt32(frame[4])
        var body = UnsafeRawBufferPointer(rebasing: frame[5...])
        if op == .poll {
            return (op, id, PollRequest.parse(body))
        }
        if op != .submit {
            // Control requests are padded with zeros to one size (the largest FETCH), so that on the link
            // every FETCH, DELETE and VIEW looks the same whatever it asks.
            guard body.count == controlBodyBytes else { return (op, id, nil) }
            let used = op == .fetch ? 1 + 32 * Int(body[0]) : op == .delete ? 40 : 5 + 32 * min(Int(body[4]), 31)
            guard used <= body.count, body[used...].allSatisfy({ $0 == 0 }) else { return (op, id, nil) }
            body = UnsafeRawBufferPointer(rebasing: body[..<used])
        }
        switch op {
        case .submit:
            return (op, id, body.count == packetBytes ? .submit(packet: body) : nil)
        case .fetch:
            guard body[0] >= 1, body[0] <= 32 else { return (op, id, nil) }
            var addresses: [Bytes32] = []
            addresses.reserveCapacity(Int(body[0]))
            for i in 0..<Int(body[0]) {
                let a = Bytes32(body.baseAddress! + 1 + 32 * i)
                if addresses.contains(a) { return (op, id, nil) }
                addresses.append(a)
            }
            return (op, id, .fetch(addresses: addresses))
        case .delete:
            return (op, id, .delete(address: Bytes32(body.baseAddress!), id: body[32..<40].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }))
        case .view:
            guard Int(body[4]) <= maxWanted else { return (op, id, nil) }
            let wanted = (0..<Int(body[4])).map { Bytes32(body.baseAddress! + 5 + 32 * $0) }
            return (op, id, .view(offset: body[0..<4].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }, wanted: wanted))
        case .poll:
            return nil   // parsed above
        }
    }

    /// Body bytes of every FETCH, DELETE and VIEW request: the largest FETCH (a count and 32 addresses),
    /// the rest zeros.
    public static let controlBodyBytes = 1 + 32 * 32

    /// Ids a VIEW may name as needed.
    public static let maxWanted = 16

    /// `body` padded with zeros to `controlBodyBytes` (what a client sends for a control request).
    public static func padded(_ body: [UInt8]) -> [UInt8] {
        precondition(body.count <= controlBodyBytes)
        return body + [UInt8](repeating: 0, count: controlBodyBytes - body.count)
    }

    /// The request's frame (what a client sends): the inverse of `parse`.
    public func encoded(id: UInt32) -> [UInt8] {
        var w = WireWriter(capacity: 64)
        switch self {
        case .submit(let packet):
            w.u8(ClientOp.submit.code); w.u32(id); w.bytes += packet
        case .fetch(let addresses):
            w.u8(ClientOp.fetch.code); w.u32(id); w.u8(UInt8(addresses.count))
            for a in addresses { w.raw(a.bytes) }
        case .delete(let address, let messageID):
            w.u8(ClientOp.delete.code); w.u32(id); w.raw(address.bytes); w.u64(messageID)
        case .view(let offset, let wanted):
            w.u8(ClientOp.view.code); w.u32(id); w.u32(offset); w.u8(UInt8(wanted.count))
            for x in wanted { w.raw(x.bytes) }
        case .poll(let poll):
            return [ClientOp.poll.code, UInt8(id >> 24), UInt8(id >> 16 & 0xff), UInt8(id >> 8 & 0xff), UInt8(id & 0xff)] + poll.body
        }
        if case .submit = self { return w.bytes }
        return Array(w.bytes[..<5]) + Self.padded(Array(w.bytes[5...]))
    }
}

/// A gateway's answer as a client reads it (layout on `ClientOp`): the only place a client looks at a
/// response's bytes. Every length is checked against what is there; anything that does not add up is nil.
public enum ClientResponse {
    /// Request id, status and body of a response frame; nil when shorter than its 6-byte head or not a response.
    public static func parse(_ frame: [UInt8]) -> (id: UInt32, status: ClientStatus, body: ArraySlice<UInt8>)? {
        guard frame.count >= 6, frame[0] & 0x80 != 0 else { return nil }
        let id = frame[1..<5].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        return (id, ClientStatus(code: frame[5]), frame[6...])
    }

    /// FETCH's body: (index of the requested address, message id, blob) for each message; nil if any
    /// entry is cut short, names an index at or past `addressCount`, or bytes follow the last one.
    public static func fetched(_ body: ArraySlice<UInt8>, addressCount: Int) -> [(index: Int, id: UInt64, blob: [UInt8])]? {
        var r = WireReader(Array(body))
        guard let count = r.u16() else { return nil }
        var out: [(index: Int, id: UInt64, blob: [UInt8])] = []
        for _ in 0..<count {
            guard let index = r.u8(), Int(index) < addressCount, let id = r.u64(), let blob = r.long() else { return nil }
            out.append((Int(index), id, blob))
        }
        return r.remaining == 0 ? out : nil
    }

    /// POLL's body: (address, message id, blob) for each message, and whether more wait; nil if any entry
    /// is cut short or bytes follow the last one.
    public static func polled(_ body: ArraySlice<UInt8>) -> (items: [(address: Bytes32, id: UInt64, blob: [UInt8])], more: Bool)? {
        var r = WireReader(Array(body))
        guard let count = r.u16(), let more = r.u8(), more <= 1 else { return nil }
        var out: [(address: Bytes32, id: UInt64, blob: [UInt8])] = []
        for _ in 0..<count {
            guard let a = r.take(32).flatMap({ Bytes32($0) }), let id = r.u64(), let blob = r.long() else { return nil }
            out.append((a, id, blob))
        }
        return r.remaining == 0 ? (out, more == 1) : nil
    }

    /// VIEW's body: (total, descriptors in this page); nil if cut short or bytes follow the last one.
    public static func viewPage(_ body: ArraySlice<UInt8>) -> (total: Int, descriptors: [[UInt8]])? {
        var r = WireReader(Array(body))
        guard let total = r.u32(), let n = r.u16() else { return nil }
        var list: [[UInt8]] = []
        for _ in 0..<n {
            guard let d = r.long() else { return nil }
            list.append(d)
        }
        return r.remaining == 0 ? (Int(total), list) : nil
    }
}
