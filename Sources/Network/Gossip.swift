import PosternCrypto

/// Control frames on node links (docs/PROTOCOL.md §5.6): any frame whose length is not exactly one packet.
/// Each is at most `limit` bytes (one packet − 1), so it never needs a larger link buffer.
///
///     DIGEST       0x01 ‖ sender time (u64, unix s) ‖ flags (1) ‖ n (u16) ‖ n × (node id (32) ‖ published (u64))
///                  flags: bit 0 = last chunk of this digest, bit 1 = answer with your own digest
///     DESCRIPTORS  0x02 ‖ n (u8) ‖ n × (length (u16) ‖ descriptor)
///     PUSH         0x03 ‖ length (u16) ‖ descriptor          the sender's own (partial views, §5.9),
///                  [‖ slot (u64) ‖ nonce (u64)]             and its proof of work (`PushWork`) when the
///                                                           network's push work is > 0
///     PULL         0x04 [‖ n (u8) ‖ n × node id (32)]       asks for a pull answer (partial views), and for
///                                                           the descriptors of n ≤ 8 ids if held
///     PULLED       0x05 ‖ flags (1) ‖ n (u8) ‖ n × (length (u16) ‖ descriptor)
///                  flags: bit 0 = last frame of this answer
///     DESCRIBE     0x06                                     asks for the receiver's own descriptor, answered
///                                                           with DESCRIPTORS (partial views)
///
/// A full-view round: the dialling node sends its digest (answer bit set). The other side sends every descriptor it
/// holds that the digest lacks or lists as older, then its own digest (answer bit clear); the dialler
/// sends what that digest lacks. Both end with the newer descriptor of every node either held.
public enum GossipFrame: Equatable {
    case digest(senderTime: Int64, last: Bool, answer: Bool, entries: [DigestEntry])
    case descriptors([[UInt8]])
    /// Partial views (§5.9): the sender's own descriptor, pushed, with its proof of work if the network
    /// asks for one.
    case push([UInt8], work: PushWork?)
    /// Partial views: a request for the receiver's pull answer.
    case pull(wanted: [Bytes32])
    /// Partial views: (part of) a pull answer.
    case pulled(last: Bool, [[UInt8]])
    /// Partial views: a request for the receiver's own current descriptor (answered with `descriptors`).
    case describe

    public struct DigestEntry: Equatable, Hashable {
        public let id: Bytes32
        public let published: Int64
        public init(id: Bytes32, published: Int64) {
            self.id = id
            self.published = published
        }
    }

    public static let digestOp: UInt8 = 1, descriptorsOp: UInt8 = 2, pushOp: UInt8 = 3, pullOp: UInt8 = 4, pulledOp: UInt8 = 5, describeOp: UInt8 = 6
    static let entryBytes = 40

    /// Whether a link frame is a control frame (anything but exactly one packet).
    public static func isControl(_ frameBytes: Int, packetBytes: Int) -> Bool { frameBytes != packetBytes }

    public var encoded: [UInt8] {
        var w = WireWriter()
        switch self {
        case .digest(let time, let last, let answer, let entries):
            w.u8(Self.digestOp)
            w.u64(UInt64(bitPattern: time))
            w.u8((last ? 1 : 0) | (answer ? 2 : 0))
            w.u16(UInt16(entries.count))
            for e in entries {
                w.raw(e.id.bytes)
                w.u64(UInt64(bitPattern: e.published))
            }
        case .descriptors(let list):
            w.u8(Self.descriptorsOp)
            w.u8(UInt8(list.count))
            for d in list { w.long(d) }
        case .push(let d, let work):
            w.u8(Self.pushOp)
            w.long(d)
            if let work {
                w.u64(work.slot)
                w.u64(work.nonce)
            }
        case .pull(let wanted):
            w.u8(Self.pullOp)
            if !wanted.isEmpty {
                w.u8(UInt8(wanted.count))
                for id in wanted { w.raw(id.bytes) }
            }
        case .describe:
            w.u8(Self.describeOp)
        case .pulled(let last, let list):
            w.u8(Self.pulledOp)
            w.u8(last ? 1 : 0)
            w.u8(UInt8(list.count))
            for d in list { w.long(d) }
        }
        return w.bytes
    }

    /// Parses a control frame; nil when malformed.
    public init?(_ bytes: [UInt8]) {
        var r = WireReader(bytes)
        switch r.u8() {
        case Self.digestOp?:
            guard let time = r.u64(), let flags = r.u8(), flags & ~3 == 0, let n = r.u16(), r.remaining == Int(n) * Self.entryBytes
            else { return nil }
            var entries: [DigestEntry] = []
            entries.reserveCapacity(Int(n))
            for _ in 0..<n {
                guard let id = r.take(32), let published = r.u64() else { return nil }
                entries.append(DigestEntry(id: Bytes32(id)!, published: Int64(bitPattern: published)))
            }
            self = .digest(senderTime: Int64(bitPattern: time), last: flags & 1 != 0, answer: flags & 2 != 0, entries: entries)
        case Self.descriptorsOp?:
            guard let n = r.u8(), let list = Self.descriptorList(&r, n) else { return nil }
            self = .descriptors(list)
        case Self.pushOp?:
            guard let d = r.long(), d.count <= NodeDescriptor.maxBytes else { return nil }
            switch r.remaining {
            case 0: self = .push(d, work: nil)
            case PushWork.encodedBytes: self = .push(d, work: PushWork(slot: r.u64()!, nonce: r.u64()!))
            default: return nil
            }
        case Self.pullOp?:
            guard r.remaining > 0 else { self = .pull(wanted: []); return }
            guard let n = r.u8(), n >= 1, n <= 8, r.remaining == Int(n) * 32 else { return nil }
            self = .pull(wanted: (0..<n).map { _ in Bytes32(r.take(32)!)! })
        case Self.describeOp?:
            guard r.remaining == 0 else { return nil }
            self = .describe
        case Self.pulledOp?:
            guard let flags = r.u8(), flags & ~1 == 0, let n = r.u8(), let list = Self.descriptorList(&r, n) else { return nil }
            self = .pulled(last: flags & 1 != 0, list)
        default:
            return nil
        }
    }

    /// `n` length-prefixed descriptors that end the frame; nil if they do not.
    static func descriptorList(_ r: inout WireReader, _ n: UInt8) -> [[UInt8]]? {
        var list: [[UInt8]] = []
        for _ in 0..<n {
            guard let d = r.long(), d.count <= NodeDescriptor.maxBytes else { return nil }
            list.append(d)
        }
        return r.remaining == 0 ? list : nil
    }

    /// A pull answer in PULLED frames of at most `limit` bytes (each descriptor whole; the last flagged).
    public static func pulledFrames(_ descriptors: [[UInt8]], limit: Int) -> [[UInt8]] {
        var frames: [[[UInt8]]] = [], current: [[UInt8]] = [], size = 3
        for d in descriptors where 3 + 2 + d.count <= limit {
            if size + 2 + d.count > limit || current.count == 255 {
                frames.append(current)
                current = []
                size = 3
            }
            current.append(d)
            size += 2 + d.count
        }
        frames.append(current)
        return frames.enumerated().map { GossipFrame.pulled(last: $0.offset == frames.count - 1, $0.element).encoded }
    }

    /// A digest of `entries` in frames of at most `limit` bytes (the last one flagged).
    public static func digestFrames(_ entries: [DigestEntry], senderTime: Int64, answer: Bool, limit: Int) -> [[UInt8]] {
        let perFrame = max(1, (limit - 12) / entryBytes)
        var frames: [[UInt8]] = []
        var i = 0
        repeat {
            let chunk = Array(entries[i..<min(i + perFrame, entries.count)])
            i += perFrame
            frames.append(GossipFrame.digest(senderTime: senderTime, last: i >= entries.count, answer: answer, entries: chunk).encoded)
        } while i < entries.count
        return frames
    }

    /// Descriptors packed into frames of at most `limit` bytes (each descriptor whole; one that does not fit
    /// any frame is skipped).
    public static func descriptorFrames(_ descriptors: [[UInt8]], limit: Int) -> [[UInt8]] {
        var frames: [[UInt8]] = [], current: [[UInt8]] = [], size = 2
        for d in descriptors where 2 + 2 + d.count <= limit {
            if size + 2 + d.count > limit || current.count == 255 {
                frames.append(GossipFrame.descriptors(current).encoded)
                current = []
                size = 2
            }
            current.append(d)
            size += 2 + d.count
        }
        if !current.isEmpty { frames.append(GossipFrame.descriptors(current).encoded) }
        return frames
    }
}

extension NetworkView {
    /// This view's digest: every held descriptor's node id and publication time.
    public var digest: [GossipFrame.DigestEntry] {
        descriptors.values.map { GossipFrame.DigestEntry(id: $0.id, published: $0.published) }
            .sorted { $0.id.bytes.lexicographicallyPrecedes($1.id.bytes) }
    }

    /// The descriptors a peer whose digest is `theirs` lacks or holds older.
    public func newer(than theirs: [GossipFrame.DigestEntry]) -> [[UInt8]] {
        var known: [Bytes32: Int64] = [:]
        for e in theirs { known[e.id] = max(known[e.id] ?? .min, e.published) }
        return descriptors.values.filter { d in (known[d.id].map { $0 < d.published } ?? true) }
            .sorted { $0.id.bytes.lexicographicallyPrecedes($1.id.bytes) }
            .map { $0.bytes }
    }
}
