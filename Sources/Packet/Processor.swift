import PosternCrypto

/// Unwraps one layer of a packet in place: the per-packet work of every relay.
///
/// One X25519 per packet, no heap allocation: all per-packet secrets live in a workspace allocated once
/// with the processor and wiped before `unwrap` returns, whatever the outcome. Checks run before anything
/// is modified (size, epoch, MAC, replay), so a refused packet is dropped whole, never half-processed.
public final class PacketProcessor {
    public let geometry: Geometry
    public let keyring: Keyring
    public private(set) var stats = PacketStats()
    /// The replay tag (and its epoch) of the last packet `unwrap` accepted, for a caller that persists
    /// tags (a node's replay log).
    public private(set) var lastTag: (epoch: UInt32, tag: (UInt64, UInt64)) = (0, (0, 0))

    // Workspace layout (bytes): shared secret, master key, MAC, scratch, then subkeys immediately followed
    // by the β ‖ slot area, so one ChaCha20 call yields the subkeys and decrypts β; then the payload
    // cipher's workspace (which Adiantum wipes itself).
    private let workspace: UnsafeMutableRawPointer
    private let workspaceBytes: Int
    private static let sharedOffset = 0, masterOffset = 32, macOffset = 64
    private static let scratchOffset = 80                               // HopKeys.masterScratchBytes
    private static let subkeysOffset = scratchOffset + HopKeys.masterScratchBytes   // 176
    private static let betaOffset = subkeysOffset + HopKeys.subkeyBytes  // 256
    private let cipherOffset: Int

    public init(geometry: Geometry, keyring: Keyring) {
        self.geometry = geometry
        self.keyring = keyring
        cipherOffset = (Self.betaOffset + geometry.betaBytes + Geometry.slotBytes + 63) & ~63
        workspaceBytes = cipherOffset + PayloadCipher.workspaceBytes
        workspace = .allocate(byteCount: workspaceBytes, alignment: 64)
        workspace.initializeMemory(as: UInt8.self, repeating: 0, count: workspaceBytes)
    }

    deinit {
        Memory.wipe(workspace, count: workspaceBytes)
        workspace.deallocate()
    }

    /// Processes the packet in `packet` (exactly `geometry.packetBytes`). On success the buffer holds:
    /// for `.forward`, the packet to send to the next hop; for `.deliver`, the plaintext payload after the
    /// header (zero prefix verified; the message is at `headerBytes + 16`); for `.deliverReply`, the
    /// payload still encrypted for the SURB's creator. On failure the packet must be dropped.
    public func unwrap(_ packet: UnsafeMutableRawBufferPointer) throws(PacketError) -> RoutingCommand {
        do {
            let command = try process(packet)
            stats.processed += 1
            return command
        } catch {
            stats.count(error)
            throw error
        }
    }

    @inline(__always)
    private func process(_ packet: UnsafeMutableRawBufferPointer) throws(PacketError) -> RoutingCommand {
        defer { Memory.wipe(workspace, count: cipherOffset) }  // the payload cipher wipes its own part
        guard packet.count == geometry.packetBytes, let p = packet.baseAddress else { throw .wrongSize }
        let epoch = UInt32(littleEndian: p.loadUnaligned(as: UInt32.self))
        guard let key = keyring.key(for: epoch) else { throw .unknownEpoch }

        let w = workspace
        let alpha = p + Geometry.alphaOffset, gamma = p + Geometry.macOffset, beta = p + Geometry.betaOffset
        let betaBytes = geometry.betaBytes, slot = Geometry.slotBytes

        // 1. Key agreement: the only public-key operation.
        do {
            try X25519.sharedSecret(secret: key.secret.pointer, publicKey: alpha, into: w + Self.sharedOffset)
        } catch { throw .weakKey }
        HopKeys.master(shared: w + Self.sharedOffset, alpha: alpha, into: w + Self.masterOffset,
                       scratch: w + Self.scratchOffset)
        // Subkeys ‖ decrypted (β ‖ 0^slot), in one stream: the packet itself is not touched yet.
        let area = w + Self.betaOffset
        (w + Self.subkeysOffset).initializeMemory(as: UInt8.self, repeating: 0, count: HopKeys.subkeyBytes)
        area.copyMemory(from: beta, byteCount: betaBytes)
        (area + betaBytes).initializeMemory(as: UInt8.self, repeating: 0, count: slot)
        HopKeys.stream(master: w + Self.masterOffset, counter: 0, buffer: w + Self.subkeysOffset,
                       count: HopKeys.subkeyBytes + betaBytes + slot)

        // 2. Integrity of the header, then freshness.
        HopKeys.mac(key: w + Self.subkeysOffset + HopKeys.macKey, beta: beta, count: betaBytes, into: w + Self.macOffset)
        guard Memory.equal(w + Self.macOffset, gamma, count: Geometry.macBytes) else { throw .badMAC }
        let tagPointer = w + Self.subkeysOffset + HopKeys.replayTag
        let tag = (tagPointer.loadUnaligned(as: UInt64.self), tagPointer.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
        switch key.replay.insert(tag) {
        case .inserted: lastTag = (epoch, tag)
        case .seen: throw .replayed
        }

        // 3. In the decrypted β ‖ 0^slot, the first slot is ours, the rest (shifted) is the next hop's β.
        guard let command = RoutingSlot.command(at: area) else { throw .badCommand }

        // 4. Payload: one Adiantum layer off.
        let payload = p + geometry.headerBytes
        PayloadCipher.peel(payload, count: geometry.payloadBytes, key: w + Self.subkeysOffset + HopKeys.payloadKey,
                           workspace: w + cipherOffset)

        switch command {
        case .forward:
            // Next header: epoch, α and γ from our slot, β = the shifted remainder.
            p.copyMemory(from: area + RoutingSlot.nextEpochOffset, byteCount: Geometry.epochBytes)
            alpha.copyMemory(from: area + RoutingSlot.nextAlphaOffset, byteCount: Geometry.alphaBytes)
            gamma.copyMemory(from: area + RoutingSlot.nextMACOffset, byteCount: Geometry.macBytes)
            beta.copyMemory(from: area + slot, byteCount: betaBytes)
        case .deliver:
            for i in 0..<(Geometry.zeroPrefixBytes / 8) where payload.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self) != 0 {
                throw .taggedPayload
            }
        case .deliverReply:
            break  // still encrypted under the reply keys; its creator checks the zero prefix
        }
        return command
    }
}
