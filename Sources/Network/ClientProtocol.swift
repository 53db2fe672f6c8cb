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
///     4 VIEW    body = offset (u32 BE): the gateway's descriptors from that index on
///
/// Responses: 0x80|op ‖ request id ‖ status (1: 0 ok, 1 bad request, 2 refused, 3 store error) ‖ body.
/// FETCH's body = count (u16 BE) ‖ count × (address index (1) ‖ id (u64 BE) ‖ length (u16 BE) ‖ blob),
/// as many as fit in one frame; the client asks again for the rest. VIEW's body = total (u32 BE) ‖ n (u16)
/// ‖ n × (length (u16) ‖ descriptor), as many as fit in one frame, in the gateway's order (sorted by node
/// id); the client asks again from offset + n until it has `total`. A client can only name addresses:
/// no request lists them.
///
/// (Plain enums with explicit code switches rather than `UInt8` raw-value enums, whose conversion tables
/// are constant arrays: see the ObjectOutliner note in cross/README.md.)
public enum ClientOp: Equatable {
    case submit, fetch, delete, view

    public var code: UInt8 {
        switch self {
        case .submit: 1
        case .fetch: 2
        case .delete: 3
        case .view: 4
        }
    }

    public init?(code: UInt8) {
        switch code {
        case 1: self = .submit
        case 2: self = .fetch
        case 3: self = .delete
        case 4: self = .view
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
