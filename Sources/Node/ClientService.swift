import PosternCrypto
import PosternLink
import PosternMailbox
import PosternPacket
import PosternSystem

/// The gateway's client protocol, inside a Noise NK session (docs/PROTOCOL.md §4.3). Requests:
///
///     op (1) ‖ request id (u32 BE) ‖ body
///     1 SUBMIT  body = one packet, whose first hop is this gateway
///     2 FETCH   body = n (1) ‖ n × address (32)     up to 32 addresses per request
///     3 DELETE  body = address (32) ‖ message id (u64 BE)
///
/// Responses: 0x80|op ‖ request id ‖ status (1: 0 ok, 1 bad request, 2 refused, 3 store error) ‖ body.
/// FETCH's body = count (u16 BE) ‖ count × (address index (1) ‖ id (u64 BE) ‖ length (u16 BE) ‖ blob),
/// as many as fit in one frame; the client asks again for the rest. A client can only name addresses:
/// no request lists them.
///
/// (Plain enums with explicit code switches rather than `UInt8` raw-value enums, whose conversion tables
/// are constant arrays: see the ObjectOutliner note in cross/README.md.)
public enum ClientOp: Equatable {
    case submit, fetch, delete

    public var code: UInt8 {
        switch self {
        case .submit: 1
        case .fetch: 2
        case .delete: 3
        }
    }

    public init?(code: UInt8) {
        switch code {
        case 1: self = .submit
        case 2: self = .fetch
        case 3: self = .delete
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

extension Node {
    func handleClientRequest(_ c: Connection, _ frame: UnsafeRawBufferPointer) {
        guard frame.count >= 5, let op = ClientOp(code: frame[0]) else {
            c.close("malformed client request")
            return
        }
        let requestID = Array(frame[1..<5])
        let body = UnsafeRawBufferPointer(rebasing: frame[5...])
        func respond(_ status: ClientStatus, _ payload: [UInt8] = []) {
            _ = c.send([0x80 | op.code] + requestID + [status.code] + payload)
        }
        switch op {
        case .submit:
            guard body.count == topology.geometry.packetBytes else { respond(.badRequest); return }
            if let error = handlePacket(body) {
                respond(.refused, Array(error.description.utf8))
            } else {
                respond(.ok)
            }
        case .fetch:
            guard let mailbox, body.count >= 1, body.count == 1 + 32 * Int(body[0]), body[0] <= 32 else {
                respond(.badRequest)
                return
            }
            var entries: [UInt8] = []
            var count = 0
            let budget = 60_000
            for i in 0..<Int(body[0]) {
                let address = Bytes32(body.baseAddress! + 1 + 32 * i)
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
        case .delete:
            guard let mailbox, body.count == 40 else { respond(.badRequest); return }
            let address = Bytes32(body.baseAddress!)
            let id = body[32..<40].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            do {
                let found = try mailbox.delete(address: address, id: id)
                if firstPendingDeposit == nil { firstPendingDeposit = EventLoop.now() }
                respond(found ? .ok : .refused)
            } catch {
                respond(.storeError)
            }
        }
    }
}
