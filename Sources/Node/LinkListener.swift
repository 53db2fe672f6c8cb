import PosternCrypto
import PosternLink
import PosternNetwork
import PosternPacket
import PosternSystem

/// Stage "incoming": accepts links from other nodes (Noise XK as responder). Anyone may connect and
/// gossip (control frames go to the directory, bounded there); packets are accepted from a link whose
/// peer introduced itself (a verified descriptor naming its link key, sent on the link: the directory
/// marks the link `admitted`) or whose link key a descriptor of the view names; a packet from any other
/// link closes it and is counted. Frames that are exactly one packet go to `onPacket`.
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

    /// `Connection.tag` of an inbound link: not yet checked, or allowed to send packets.
    static let unchecked = 0, admitted = 1

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
            // tag: `unchecked` until the peer introduced itself or its first packet found it in the view.
            c.onMessage = { [self] c, frame in
                if GossipFrame.isControl(frame.count, packetBytes: self.geometry.packetBytes) {
                    self.directory.control(frame, on: c)
                    return
                }
                if c.tag == Self.unchecked {
                    guard let rs = c.remoteStatic, let peer = Bytes32(rs), self.directory.isMember(linkKey: peer) else {
                        self.counters.stats.linkRejects += 1
                        c.close("packets from a node that neither introduced itself nor is in the view")
                        return
                    }
                    c.tag = Self.admitted
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
