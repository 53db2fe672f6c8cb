import PosternCrypto

/// POLL (docs/PROTOCOL.md §4.3): the session's watched addresses change by `add` and `remove` (after
/// `clear` forgot them all), and, if `answer`, the gateway answers with what waits at them, holding the
/// answer up to `hold` seconds while nothing does. The gateway keeps the watched set for the session
/// only (a new connection starts empty), so polling costs the same whatever the number of contacts:
///
///     flags (1: bit 0 answer, bit 1 clear, the others 0) ‖ hold seconds (u16 BE, ≤ 600) ‖ a (1) ‖ r (1)
///     ‖ a × address to watch ‖ r × address to stop watching
///
/// a + r ≤ 31, every address named once. Without changes the body is these 5 bytes; with changes it is
/// padded with zeros to `ClientRequest.controlBodyBytes` (1 025), as FETCH, DELETE and VIEW are.
public struct PollRequest: Equatable {
    public var answer: Bool
    public var clear: Bool
    public var holdSeconds: UInt16
    public var add: [Bytes32]
    public var remove: [Bytes32]

    /// Changes one POLL carries at most; the longest hold.
    public static let maxChanges = 31, maxHoldSeconds: UInt16 = 600

    public init(answer: Bool, clear: Bool = false, holdSeconds: UInt16 = 0, add: [Bytes32] = [], remove: [Bytes32] = []) {
        precondition(add.count + remove.count <= Self.maxChanges && holdSeconds <= Self.maxHoldSeconds)
        self.answer = answer
        self.clear = clear
        self.holdSeconds = holdSeconds
        self.add = add
        self.remove = remove
    }

    /// The request body a client sends.
    public var body: [UInt8] {
        var b: [UInt8] = [(answer ? 1 : 0) | (clear ? 2 : 0), UInt8(holdSeconds >> 8), UInt8(holdSeconds & 0xff),
                          UInt8(add.count), UInt8(remove.count)]
        for a in add { b += a.bytes }
        for a in remove { b += a.bytes }
        return add.isEmpty && remove.isEmpty ? b : ClientRequest.padded(b)
    }

    /// A POLL body as the gateway reads it; nil (a bad request) for unknown flags, a hold over 600 s,
    /// too many changes, an address named twice, or a size other than 5 bytes without changes or
    /// `controlBodyBytes` (zeros after the content) with them.
    public static func parse(_ body: UnsafeRawBufferPointer) -> ClientRequest? {
        guard body.count >= 5, body[0] & ~3 == 0 else { return nil }
        let hold = UInt16(body[1]) << 8 | UInt16(body[2]), a = Int(body[3]), r = Int(body[4])
        guard hold <= maxHoldSeconds, a + r <= maxChanges else { return nil }
        if a + r == 0 {
            guard body.count == 5 else { return nil }
        } else {
            guard body.count == ClientRequest.controlBodyBytes, body[(5 + 32 * (a + r))...].allSatisfy({ $0 == 0 }) else { return nil }
        }
        var all: [Bytes32] = []
        all.reserveCapacity(a + r)
        for i in 0..<(a + r) {
            let address = Bytes32(body.baseAddress! + 5 + 32 * i)
            if all.contains(address) { return nil }
            all.append(address)
        }
        return .poll(PollRequest(answer: body[0] & 1 != 0, clear: body[0] & 2 != 0, holdSeconds: hold,
                                 add: Array(all[..<a]), remove: Array(all[a...])))
    }
}
