import PosternCrypto
import PosternLink
import PosternNetwork
import PosternPacket
import PosternSystem

/// Stage "incoming": accepts links from other nodes (Noise XK as responder). Anyone may connect and
/// gossip (control frames go to the directory, bounded there); only nodes of the view may send packets:
/// a packet from a link key no descriptor names closes the link and is counted. Frames that are exactly
/// one packet go to `onPacket`.
final class LinkListener {
    let loop: EventLoop
    let secrets: NodeSecrets
    let geometry: Geometry
    let options: NodeOptions
    let counters: NodeCounters
    let directory: Directory
    let onPacket: (UnsafeRawBufferPointer) -> Void
    private(set) var socket: FileDescriptor?
    var inbound: [FileDescriptor: Connection] = [:]

    init(loop: EventLoop, secrets: NodeSecrets, geometry: Geometry, options: NodeOptions, counters: NodeCounters,
         directory: Directory, onPacket: @escaping (UnsafeRawBufferPointer) -> Void) {
        self.loop = loop
        self.secrets = secrets
        self.geometry = geometry
        self.options = options
        self.counters = counters
        self.directory = directory
        self.onPacket = onPacket
    }

    /// Starts accepting on the listening socket `fd` (which this stage then owns).
    func start(_ fd: FileDescriptor) {
        socket = fd
        watch()
    }

    func watch() {
        guard let socket else { return }
        try? loop.watch(socket, events: EventLoop.readable) { [self] _ in self.accept() }
    }

    func accept() {
        guard let socket else { return }
        Acceptor.drain(socket, loop: loop, counters: counters, resume: { [self] in self.watch() }) { fd in
            guard let hs = try? NoiseHandshake(pattern: .XK, initiator: false, prologue: options.prologue,
                                               staticKey: secrets.linkSecret.bytes) else { fd.close(); return }
            let c = Connection(fd: fd, loop: loop, handshake: hs, maxFrame: geometry.packetBytes + 16, maxQueued: 1 << 20,
                               handshakeTimeout: options.handshakeTimeoutNanos)
            inbound[fd] = c
            // tag: 0 = not yet checked, 1 = a node of the view (checked once, at its first packet).
            c.onMessage = { [self] c, frame in
                if GossipFrame.isControl(frame.count, packetBytes: self.geometry.packetBytes) {
                    self.directory.control(frame, on: c)
                    return
                }
                if c.tag == 0 {
                    guard let rs = c.remoteStatic, let peer = Bytes32(rs), self.directory.isMember(linkKey: peer) else {
                        self.counters.stats.linkRejects += 1
                        c.close("packets from a node not in the view")
                        return
                    }
                    c.tag = 1
                }
                self.onPacket(frame)
            }
            c.onClose = { [self] c, _ in
                self.inbound[c.fd] = nil
                self.directory.connectionClosed(c.fd)
            }
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
