import PosternCrypto
import PosternSystem

/// A single-use reply block: lets its holder send one payload back to the block's creator without
/// learning the route, the creator's gateway or its mailbox. Serialised (docs/PROTOCOL.md §2.7) as
/// first hop (`NextHop.surbBytes`: link key 32 ‖ address type 1 ‖ port 2 ‖ address 16) ‖ reply key (32) ‖
/// header (`geometry.headerBytes`).
public struct SURB: Equatable {
    public let geometry: Geometry
    public let firstHop: NextHop
    let replyKey: [UInt8]
    let header: [UInt8]

    static let replyKeyOffset = NextHop.surbBytes
    static let headerOffset = NextHop.surbBytes + 32

    public var serialized: [UInt8] {
        var first = [UInt8](repeating: 0, count: NextHop.surbBytes)
        first.withUnsafeMutableBytes { firstHop.writeSURB(to: $0.baseAddress!) }
        return first + replyKey + header
    }

    public static func serializedBytes(_ geometry: Geometry) -> Int { headerOffset + geometry.headerBytes }

    /// nil for the wrong size or a malformed first-hop address.
    public init?(serialized bytes: [UInt8], geometry: Geometry) {
        guard bytes.count == Self.serializedBytes(geometry),
              let first = bytes.withUnsafeBytes({ NextHop(surb: $0.baseAddress!) }) else { return nil }
        self.init(geometry: geometry, firstHop: first, replyKey: Array(bytes[Self.replyKeyOffset..<Self.headerOffset]),
                  header: Array(bytes[Self.headerOffset...]))
    }

    init(geometry: Geometry, firstHop: NextHop, replyKey: [UInt8], header: [UInt8]) {
        self.geometry = geometry
        self.firstHop = firstHop
        self.replyKey = replyKey
        self.header = header
    }

    /// The reply packet (to send to `firstHop`): the SURB's header and the message with the usual zero
    /// prefix, one Adiantum layer (`PayloadCipher.peel`) on under the reply key k̃.
    public func reply(_ message: [UInt8]) throws(PacketError) -> [UInt8] {
        guard message.count <= geometry.messageBytes else { throw .messageTooLong }
        let serialized = serialized
        var packet = [UInt8](repeating: 0, count: geometry.packetBytes)
        let geometry = geometry
        packet.withUnsafeMutableBytes { p in
            serialized.withUnsafeBytes { s in
                message.withUnsafeBytes { m in
                    Self.writeReply(serialized: s.baseAddress!, geometry: geometry, message: m, into: p.baseAddress!)
                }
            }
        }
        return packet
    }

    /// The first hop named by a serialised SURB at `serialized`; nil if its address bytes are malformed.
    public static func firstHop(serialized: UnsafeRawPointer) -> NextHop? { NextHop(surb: serialized) }

    /// Bytes of the workspace `writeReply` needs.
    public static let replyWorkspaceBytes = PayloadCipher.workspaceBytes

    /// Writes the reply packet for the serialised SURB at `serialized` into `packet`
    /// (`geometry.packetBytes`), without allocating: a gateway answers a delivery acknowledgement this way
    /// straight into its packet pool, with a `workspace` of `replyWorkspaceBytes` (16-byte aligned) it keeps.
    /// `message` must fit `geometry.messageBytes`.
    public static func writeReply(serialized: UnsafeRawPointer, geometry: Geometry, message: UnsafeRawBufferPointer,
                                  into packet: UnsafeMutableRawPointer, workspace: UnsafeMutableRawPointer) {
        precondition(message.count <= geometry.messageBytes)
        packet.copyMemory(from: serialized + headerOffset, byteCount: geometry.headerBytes)
        let payload = packet + geometry.headerBytes
        payload.initializeMemory(as: UInt8.self, repeating: 0, count: geometry.payloadBytes)
        if let m = message.baseAddress { (payload + Geometry.zeroPrefixBytes).copyMemory(from: m, byteCount: message.count) }
        PayloadCipher.peel(payload, count: geometry.payloadBytes, key: serialized + replyKeyOffset, workspace: workspace)
    }

    /// `writeReply` with a workspace of its own (tests, tools, cold paths).
    public static func writeReply(serialized: UnsafeRawPointer, geometry: Geometry, message: UnsafeRawBufferPointer,
                                  into packet: UnsafeMutableRawPointer) {
        let workspace = UnsafeMutableRawPointer.allocate(byteCount: replyWorkspaceBytes, alignment: 64)
        defer { workspace.deallocate() }
        writeReply(serialized: serialized, geometry: geometry, message: message, into: packet, workspace: workspace)
    }
}

/// What a SURB's creator keeps to read the reply: the reply key and every hop's payload keys.
public struct SURBSecrets {
    public let id: SURBID
    let replyKey: [UInt8]
    let hopKeys: [UInt8]
    let geometry: Geometry

    /// Stored form for a client that waits for the reply across restarts:
    /// id (16) ‖ reply key (32) ‖ hop count (1) ‖ hop payload keys (32 each). Secret: keep it encrypted at rest.
    public var serialized: [UInt8] {
        var id = id.words
        var out = withUnsafeBytes(of: &id) { Array($0) }
        out += replyKey
        out.append(UInt8(hopKeys.count / PayloadCipher.keyBytes))
        return out + hopKeys
    }

    public init?(serialized bytes: [UInt8], geometry: Geometry) {
        guard bytes.count >= 49 else { return nil }
        let hops = Int(bytes[48])
        guard hops >= 1, hops <= geometry.maxHops, bytes.count == 49 + hops * PayloadCipher.keyBytes else { return nil }
        let words = bytes.withUnsafeBytes { ($0.loadUnaligned(as: UInt64.self), $0.loadUnaligned(fromByteOffset: 8, as: UInt64.self)) }
        self.init(id: SURBID(words: words), replyKey: Array(bytes[16..<48]), hopKeys: Array(bytes[49...]), geometry: geometry)
    }

    init(id: SURBID, replyKey: [UInt8], hopKeys: [UInt8], geometry: Geometry) {
        self.id = id
        self.replyKey = replyKey
        self.hopKeys = hopKeys
        self.geometry = geometry
    }

    /// Recovers the message from a delivered reply payload (`geometry.payloadBytes`): every hop peeled one
    /// Adiantum layer on its way, so the creator wraps them back off, last hop first, then the reply key's
    /// layer; a modified payload fails the zero-prefix check.
    public func open(payload: [UInt8]) throws(PacketError) -> [UInt8] {
        guard payload.count == geometry.payloadBytes else { throw .wrongSize }
        var data = payload
        let hops = hopKeys.count / PayloadCipher.keyBytes
        let geometry = geometry
        let workspace = UnsafeMutableRawPointer.allocate(byteCount: PayloadCipher.workspaceBytes, alignment: 64)
        defer { workspace.deallocate() }
        let intact = data.withUnsafeMutableBytes { p in
            hopKeys.withUnsafeBytes { keys in
                for i in stride(from: hops - 1, through: 0, by: -1) {
                    PayloadCipher.wrap(p.baseAddress!, count: geometry.payloadBytes,
                                       key: keys.baseAddress! + i * PayloadCipher.keyBytes, workspace: workspace)
                }
            }
            replyKey.withUnsafeBytes {
                PayloadCipher.wrap(p.baseAddress!, count: geometry.payloadBytes, key: $0.baseAddress!, workspace: workspace)
            }
            return p[0..<Geometry.zeroPrefixBytes].allSatisfy { $0 == 0 }
        }
        guard intact else { throw .taggedPayload }
        return Array(data[Geometry.zeroPrefixBytes...])
    }
}
