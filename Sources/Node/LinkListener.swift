import PosternCrypto
import PosternLink
import PosternNetwork
import PosternPacket
import PosternSystem

/// Stage "incoming": accepts links from other nodes (Noise XK as responder), lets only nodes of the
/// topology in, and hands every frame that is exactly one packet to `onPacket`. Anything else closes
/// the connection and is counted.
final class LinkListener {
    let loop: EventLoop
    let keys: NodeKeys
    let topology: Topology
    let options: NodeOptions
    let counters: NodeCounters
    let onPacket: (UnsafeRawBufferPointer) -> Void
    private(set) var socket: FileDescriptor?
    var inbound: [FileDescriptor: Connection] = [:]

    init(loop: EventLoop, keys: NodeKeys, topology: Topology, options: NodeOptions, counters: NodeCounters,
         onPacket: @escaping (UnsafeRawBufferPointer) -> Void) {
        self.loop = loop
        self.keys = keys
        self.topology = topology
        self.options = options
        self.counters = counters
        self.onPacket = onPacket
    }

    /// Starts accepting on the listening socket `fd` (which this stage then owns).
    func start(_ fd: FileDescriptor) {
        socket = fd
        try? loop.watch(fd, events: EventLoop.readable) { [self] _ in self.accept() }
    }

    func accept() {
        guard let socket else { return }
        while let fd = try? TCP.accept(socket) {
            guard let hs = try? NoiseHandshake(pattern: .XK, initiator: false, prologue: options.prologue,
                                               staticKey: keys.linkSecret.bytes) else { fd.close(); continue }
            let c = Connection(fd: fd, loop: loop, handshake: hs, maxFrame: topology.geometry.packetBytes + 16, maxQueued: 1 << 16,
                               handshakeTimeout: options.handshakeTimeoutNanos)
            inbound[fd] = c
            c.onEstablished = { [self] c in
                // Only nodes of the topology may send packets.
                guard let rs = c.remoteStatic, let peer = Bytes32(rs), self.topology.nodes.contains(where: { $0.linkKey == peer }) else {
                    self.counters.stats.linkRejects += 1
                    c.close("unknown peer")
                    return
                }
            }
            c.onMessage = { [self] c, frame in
                guard frame.count == self.topology.geometry.packetBytes else {
                    self.counters.stats.droppedBadFrame += 1
                    c.close("frame is not one packet")
                    return
                }
                self.onPacket(frame)
            }
            c.onClose = { [self] c, _ in self.inbound[c.fd] = nil }
            c.start()
        }
    }

    /// Closes the listening socket and every inbound link.
    func stop() {
        for c in Array(inbound.values) { c.close("node stopping") }
        if let socket {
            loop.unwatch(socket)
            socket.close()
        }
        socket = nil
    }
}
