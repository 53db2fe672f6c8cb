import PosternCrypto
import PosternSystem

/// One TCP connection speaking Noise: every message (handshake or transport) is framed by a 2-byte
/// big-endian length, as the Noise specification suggests. Non-blocking, driven by the event loop.
///
/// Defences: a frame longer than `maxFrame` closes the connection; so does a frame that fails
/// authentication, a failed handshake, or a handshake not finished within `handshakeTimeout` (half-open
/// and silent peers). Outgoing bytes beyond `maxQueued` are refused (`send` returns false), so a slow
/// peer cannot make this node buffer without bound.
public final class Connection {
    /// Where a connection is in its life; every transition is in this file.
    enum State {
        /// TCP connect in progress (initiators): waiting for the socket to become writable.
        case connecting(NoiseHandshake)
        /// Noise handshake messages going back and forth.
        case handshaking(NoiseHandshake)
        /// Transport messages, each direction with its own cipher.
        case established(NoiseTransport)
        /// Socket closed, keys wiped, callbacks dropped.
        case closed
    }

    public let fd: FileDescriptor
    let loop: EventLoop
    var state: State
    public let maxFrame: Int
    public let maxQueued: Int
    public var isEstablished: Bool { if case .established = state { true } else { false } }
    public var isClosed: Bool { if case .closed = state { true } else { false } }
    public var remoteStatic: [UInt8]? {
        switch state {
        case .connecting(let hs), .handshaking(let hs): hs.remoteStatic
        case .established(let t): t.remoteStatic
        case .closed: nil
        }
    }
    /// Free for the owner (e.g. which neighbour this link is).
    public var tag = 0

    public var onEstablished: ((Connection) -> Void)?
    public var onMessage: ((Connection, UnsafeRawBufferPointer) -> Void)?
    public var onClose: ((Connection, String) -> Void)?

    var input: UnsafeMutableRawPointer
    var inputCount = 0
    let inputCapacity: Int
    var plain: UnsafeMutableRawPointer
    var output: [UInt8] = []
    var outputStart = 0

    public init(fd: FileDescriptor, loop: EventLoop, handshake: NoiseHandshake, maxFrame: Int = 65_535, maxQueued: Int = 1 << 20,
                connecting: Bool = false, handshakeTimeout: UInt64 = 5_000_000_000) {
        self.fd = fd
        self.loop = loop
        state = connecting ? .connecting(handshake) : .handshaking(handshake)
        self.maxFrame = min(maxFrame, 65_535)
        self.maxQueued = maxQueued
        inputCapacity = self.maxFrame + 2
        input = .allocate(byteCount: inputCapacity, alignment: 16)
        plain = .allocate(byteCount: self.maxFrame, alignment: 16)
        output.reserveCapacity(4 * (self.maxFrame + 2))
        loop.after(handshakeTimeout) { [self] in
            if !self.isEstablished && !self.isClosed { self.close("handshake timed out") }
        }
    }

    deinit {
        input.deallocate()
        plain.deallocate()
    }

    var isConnecting: Bool { if case .connecting = state { true } else { false } }

    /// Registers with the loop and, for initiators, sends the first handshake message.
    public func start() {
        do {
            try loop.watch(fd, events: EventLoop.readable | (isConnecting ? EventLoop.writable : 0)) { [self] events in
                self.handle(events)
            }
        } catch {
            close("cannot watch socket: \(error.description)")
            return
        }
        if !isConnecting { advanceHandshake() }
    }

    func handle(_ events: UInt32) {
        if case .connecting(let hs) = state, events & (EventLoop.writable | EventLoop.error | EventLoop.hangup) != 0 {
            let err = TCP.connectError(fd)
            if err != 0 { close(SystemError(err, "connect").description); return }
            state = .handshaking(hs)
            advanceHandshake()
        }
        if events & EventLoop.readable != 0 || events & EventLoop.hangup != 0 { readAvailable() }
        if isClosed { return }
        if events & EventLoop.writable != 0 { flush() }
    }

    /// Frames handled per readiness event (plus what the read that reached it already brought in: at most
    /// one frame buffer): the rest waits in the socket, and since epoll is level-triggered the loop comes
    /// back to this connection after serving the others. One flooding peer can neither starve the rest
    /// nor make one turn last seconds; 128 packets are about 5 ms of unwrapping.
    public var framesPerTurn = 128
    var framesThisTurn = 0

    func readAvailable() {
        framesThisTurn = 0
        while !isClosed && framesThisTurn < framesPerTurn {
            let n: Int?
            do { n = try TCP.read(fd, input + inputCount, inputCapacity - inputCount) } catch {
                close(error.description)
                return
            }
            guard let n else { return }
            if n == 0 { close("peer closed the connection"); return }
            inputCount += n
            processFrames()
        }
    }

    func processFrames() {
        while !isClosed && inputCount >= 2 {
            let length = Int(input.load(fromByteOffset: 0, as: UInt8.self)) << 8 | Int(input.load(fromByteOffset: 1, as: UInt8.self))
            if length > maxFrame { close("oversize frame (\(length) bytes)"); return }
            guard inputCount >= 2 + length else { return }
            frame(UnsafeRawBufferPointer(start: input + 2, count: length))
            framesThisTurn += 1
            let consumed = 2 + length
            if inputCount > consumed { input.copyMemory(from: input + consumed, byteCount: inputCount - consumed) }
            inputCount -= consumed
        }
    }

    func frame(_ bytes: UnsafeRawBufferPointer) {
        switch state {
        case .handshaking(let hs):
            do {
                _ = try hs.readMessage(Array(bytes))
            } catch {
                close(error.description)
                return
            }
            advanceHandshake()
        case .established(var transport):
            guard bytes.count >= 16 else { close("short frame"); return }
            do {
                try transport.receive.decrypt(ad: UnsafeRawBufferPointer(start: nil, count: 0), ciphertext: bytes.baseAddress!,
                                              count: bytes.count, output: plain)
            } catch {
                close("frame failed authentication")
                return
            }
            state = .established(transport)
            onMessage?(self, UnsafeRawBufferPointer(start: plain, count: bytes.count - 16))
        case .connecting, .closed:
            close("frame before handshake")
        }
    }

    /// Writes handshake messages while it is our turn; switches to transport when complete.
    func advanceHandshake() {
        guard case .handshaking(let hs) = state else { return }
        while !hs.isComplete && hs.isOurTurn {
            do { queueFrame(try hs.writeMessage()) } catch {
                close(error.description)
                return
            }
        }
        if hs.isComplete {
            do { state = .established(try hs.split()) } catch { close(error.description); return }
            onEstablished?(self)
        }
        flush()
    }

    func queueFrame(_ bytes: [UInt8]) {
        output.append(UInt8(bytes.count >> 8))
        output.append(UInt8(bytes.count & 0xff))
        output += bytes
    }

    /// Encrypts and queues one transport message. False when the queue is full or the link is down.
    @discardableResult
    public func send(_ payload: UnsafeRawBufferPointer) -> Bool {
        guard case .established(var transport) = state, payload.count + 16 <= maxFrame else { return false }
        guard output.count - outputStart + payload.count + 18 <= maxQueued else { return false }
        let length = payload.count + 16
        output.append(UInt8(length >> 8))
        output.append(UInt8(length & 0xff))
        let start = output.count
        output.append(contentsOf: repeatElement(0, count: length))
        output.withUnsafeMutableBytes { o in
            transport.send.encrypt(ad: UnsafeRawBufferPointer(start: nil, count: 0), plaintext: payload.baseAddress,
                                   count: payload.count, output: o.baseAddress! + start)
        }
        state = .established(transport)
        flush()
        return true
    }

    @discardableResult
    public func send(_ payload: [UInt8]) -> Bool { payload.withUnsafeBytes { send($0) } }

    public var queuedBytes: Int { output.count - outputStart }

    func flush() {
        switch state {
        case .handshaking, .established: break
        case .connecting, .closed: return
        }
        while outputStart < output.count {
            let written: Int
            do {
                written = try withBytes(output) { (o) throws(SystemError) in
                    try TCP.write(fd, o.baseAddress! + outputStart, output.count - outputStart)
                }
            } catch {
                close(error.description)
                return
            }
            if written == 0 { break }
            outputStart += written
        }
        if outputStart == output.count {
            output.removeAll(keepingCapacity: true)
            outputStart = 0
            loop.modify(fd, events: EventLoop.readable)
        } else {
            if outputStart > 1 << 16 {
                output.removeFirst(outputStart)
                outputStart = 0
            }
            loop.modify(fd, events: EventLoop.readable | EventLoop.writable)
        }
    }

    public func close(_ reason: String) {
        guard !isClosed else { return }
        // Taken out of the state first, so the wipes below hit the only copy of the keys.
        var transport: NoiseTransport?
        if case .established(let t) = state { transport = t }
        state = .closed
        transport?.send.wipe()
        transport?.receive.wipe()
        loop.unwatch(fd)
        fd.close()
        let callback = onClose
        onClose = nil
        onMessage = nil
        onEstablished = nil
        callback?(self, reason)
    }
}
