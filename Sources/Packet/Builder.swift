import PosternCrypto
import PosternSystem

/// Builds packets and SURBs (the sender's side of the format; see docs/PROTOCOL.md §2).
///
/// Building costs one X25519 base multiplication and one X25519 per hop, plus the symmetric work. All of
/// it runs in a workspace allocated once with the builder; `build(into:)` allocates nothing and the
/// array-returning forms allocate only the result.
public final class PacketBuilder {
    public let geometry: Geometry
    private let random: (UnsafeMutableRawPointer, Int) -> Void
    private let workspace: UnsafeMutableRawPointer
    private let workspaceBytes: Int

    // Per hop: α (32) ‖ K (32) ‖ subkeys (80); then a stream area (subkeys + β + slot), filler, scratch (192:
    // x (32) ‖ s (32) ‖ HopKeys.master's 96, with γ at +96 once the keys are made), and the payload cipher's
    // workspace.
    private static let perHop = 32 + 32 + HopKeys.subkeyBytes
    private var streamOffset: Int { geometry.maxHops * Self.perHop }
    private var fillerOffset: Int { streamOffset + HopKeys.subkeyBytes + geometry.betaBytes + Geometry.slotBytes }
    private var scratchOffset: Int { fillerOffset + geometry.betaBytes }
    private var cipherOffset: Int { (scratchOffset + 192 + 63) & ~63 }

    /// `random` supplies ephemeral keys and padding; the default is the kernel's CSPRNG. Tests pass a
    /// seeded generator to build golden packets.
    public init(geometry: Geometry, random: @escaping (UnsafeMutableRawPointer, Int) -> Void = { Random.fill($0, count: $1) }) {
        self.geometry = geometry
        self.random = random
        workspaceBytes = ((geometry.maxHops * Self.perHop + HopKeys.subkeyBytes + 2 * geometry.betaBytes + Geometry.slotBytes
                           + 192 + 63) & ~63)
            + PayloadCipher.workspaceBytes
        workspace = .allocate(byteCount: workspaceBytes, alignment: 64)
        workspace.initializeMemory(as: UInt8.self, repeating: 0, count: workspaceBytes)
    }

    deinit {
        Memory.wipe(workspace, count: workspaceBytes)
        workspace.deallocate()
    }

    private func alpha(_ i: Int) -> UnsafeMutableRawPointer { workspace + i * Self.perHop }
    private func master(_ i: Int) -> UnsafeMutableRawPointer { workspace + i * Self.perHop + 32 }
    private func subkeys(_ i: Int) -> UnsafeMutableRawPointer { workspace + i * Self.perHop + 64 }

    /// Writes a complete packet (`geometry.packetBytes`) for `route`, ending at `destination`, carrying
    /// `message` (at most `geometry.messageBytes`; the rest of the payload is zero).
    public func build(route: [RouteHop], to destination: Destination, message: UnsafeRawBufferPointer,
                      into packet: UnsafeMutableRawPointer) throws(PacketError) {
        guard message.count <= geometry.messageBytes else { throw .messageTooLong }
        defer { Memory.wipe(workspace, count: workspaceBytes) }
        try buildHeader(route: route, destination: destination, into: packet)
        let payload = packet + geometry.headerBytes
        payload.initializeMemory(as: UInt8.self, repeating: 0, count: geometry.payloadBytes)
        if let base = message.baseAddress { (payload + Geometry.zeroPrefixBytes).copyMemory(from: base, byteCount: message.count) }
        for i in stride(from: route.count - 1, through: 0, by: -1) {
            PayloadCipher.wrap(payload, count: geometry.payloadBytes, key: subkeys(i) + HopKeys.payloadKey,
                               workspace: workspace + cipherOffset)
        }
    }

    public func build(route: [RouteHop], to destination: Destination, message: [UInt8]) throws(PacketError) -> [UInt8] {
        var packet = [UInt8](repeating: 0, count: geometry.packetBytes)
        try withBytes(message) { (m) throws(PacketError) in
            try withMutableBytes(&packet) { (p) throws(PacketError) in
                try build(route: route, to: destination, message: m, into: p.baseAddress!)
            }
        }
        return packet
    }

    /// Writes the header (epoch ‖ α ‖ γ ‖ β) for `route` and leaves every hop's keys in the workspace.
    private func buildHeader(route: [RouteHop], destination: Destination,
                             into header: UnsafeMutableRawPointer) throws(PacketError) {
        let n = route.count
        guard n >= 1 && n <= geometry.maxHops else { throw .badRoute }
        let slot = Geometry.slotBytes, betaBytes = geometry.betaBytes
        let stream = workspace + streamOffset, filler = workspace + fillerOffset, scratch = workspace + scratchOffset

        // Per-hop keys: fresh ephemeral x_i, α_i = x_i·G, s_i = x_i·P_i.
        for i in 0..<n {
            random(scratch, 32)
            X25519.publicKey(secret: scratch, into: alpha(i))
            var nodeKey = route[i].packetKey
            let agreed = withUnsafeBytes(of: &nodeKey.words) { pk in
                (try? X25519.sharedSecret(secret: scratch, publicKey: pk.baseAddress!, into: scratch + 32)) != nil
            }
            guard agreed else { throw .badRoute }
            HopKeys.master(shared: scratch + 32, alpha: alpha(i), into: master(i), scratch: scratch + 64)  // 96 bytes
            HopKeys.subkeys(master: master(i), into: subkeys(i))
            Memory.wipe(scratch, count: 160)
        }

        // Filler φ: what hops 0…n-2 append to β as they shift it, so the last hop's MAC covers it.
        var fillerLength = 0
        for i in 0..<(n - 1) {
            (filler + fillerLength).initializeMemory(as: UInt8.self, repeating: 0, count: slot)
            fillerLength += slot
            keystream(hop: i, into: stream, count: betaBytes + slot)
            let from = betaBytes + slot - fillerLength
            xor(filler, stream + from, count: fillerLength)
        }

        // β of the last hop: its slot, random padding, then the filler.
        let beta = header + Geometry.betaOffset
        let open = betaBytes - fillerLength
        RoutingSlot(command: destination.command).encode(into: beta)
        random(beta + slot, open - slot)
        keystream(hop: n - 1, into: stream, count: open)
        xor(beta, stream, count: open)
        (beta + open).copyMemory(from: filler, byteCount: fillerLength)
        var gamma = workspace + scratchOffset + 96
        HopKeys.mac(key: subkeys(n - 1) + HopKeys.macKey, beta: beta, count: betaBytes, into: gamma)

        // Wrap outwards: each earlier hop's slot points at the next hop and carries its α and γ.
        for i in stride(from: n - 2, through: 0, by: -1) {
            let next = route[i + 1]
            var slotValue = RoutingSlot(command: .forward(next: next.link, delayMicros: route[i].delayMicros))
            slotValue.nextEpoch = next.epoch
            slotValue.nextAlpha = Bytes32(alpha(i + 1))
            slotValue.nextMAC = (gamma.loadUnaligned(as: UInt64.self), gamma.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
            (beta + slot).moveInitializeMemory(as: UInt8.self, from: beta.assumingMemoryBound(to: UInt8.self), count: betaBytes - slot)
            slotValue.encode(into: beta)
            keystream(hop: i, into: stream, count: betaBytes)
            xor(beta, stream, count: betaBytes)
            gamma = workspace + scratchOffset + 96
            HopKeys.mac(key: subkeys(i) + HopKeys.macKey, beta: beta, count: betaBytes, into: gamma)
        }

        header.storeBytes(of: route[0].epoch.littleEndian, as: UInt32.self)
        (header + Geometry.alphaOffset).copyMemory(from: alpha(0), byteCount: 32)
        (header + Geometry.macOffset).copyMemory(from: gamma, byteCount: Geometry.macBytes)
    }

    /// The β keystream of hop `i` (its first `count` bytes): the hop stream after the subkeys. `out` has
    /// room for `HopKeys.subkeyBytes` more bytes than `count`.
    private func keystream(hop i: Int, into out: UnsafeMutableRawPointer, count: Int) {
        out.initializeMemory(as: UInt8.self, repeating: 0, count: HopKeys.subkeyBytes + count)
        HopKeys.stream(master: master(i), counter: 0, buffer: out, count: HopKeys.subkeyBytes + count)
        Memory.wipe(out, count: HopKeys.subkeyBytes)
        out.moveInitializeMemory(as: UInt8.self, from: (out + HopKeys.subkeyBytes).assumingMemoryBound(to: UInt8.self), count: count)
    }

    private func xor(_ target: UnsafeMutableRawPointer, _ source: UnsafeRawPointer, count: Int) {
        for j in 0..<count {
            target.storeBytes(of: target.load(fromByteOffset: j, as: UInt8.self) ^ source.load(fromByteOffset: j, as: UInt8.self),
                              toByteOffset: j, as: UInt8.self)
        }
    }

    // MARK: SURBs

    /// Creates a single-use reply block for `route` (which ends at the creator's own gateway) delivering
    /// to `mailbox`. The `SURB` goes to the other party; the `SURBSecrets` stay with the creator.
    public func makeSURB(route: [RouteHop], mailbox: Bytes32) throws(PacketError) -> (SURB, SURBSecrets) {
        defer { Memory.wipe(workspace, count: workspaceBytes) }
        let id = SURBID.random()
        var header = [UInt8](repeating: 0, count: geometry.headerBytes)
        try withMutableBytes(&header) { (h) throws(PacketError) in
            try buildHeader(route: route, destination: .reply(mailbox: mailbox, surb: id), into: h.baseAddress!)
        }
        var replyKey = [UInt8](repeating: 0, count: 32)
        replyKey.withUnsafeMutableBytes { random($0.baseAddress!, 32) }
        var hopKeys = [UInt8](repeating: 0, count: route.count * PayloadCipher.keyBytes)
        hopKeys.withUnsafeMutableBytes { k in
            for i in 0..<route.count {
                (k.baseAddress! + i * PayloadCipher.keyBytes).copyMemory(from: subkeys(i) + HopKeys.payloadKey,
                                                                         byteCount: PayloadCipher.keyBytes)
            }
        }
        let surb = SURB(geometry: geometry, firstHop: route[0].link, replyKey: replyKey, header: header)
        return (surb, SURBSecrets(id: id, replyKey: replyKey, hopKeys: hopKeys, geometry: geometry))
    }
}
