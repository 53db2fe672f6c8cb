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

    /// Received bytes not yet framed. Allocated at the first read with room for one small frame
    /// (`initialInput`), grown to one largest frame only when a frame needs it, freed at close: an idle
    /// or half-open connection holds a few KiB, not 64. Frames are decrypted in place.
    var input: UnsafeMutableRawPointer?
    var inputCount = 0
    var inputCapacity = 0
    static let initialInput = 4096
    var output: [UInt8] = []
    var outputStart = 0
    /// A drained output queue keeps at most this much capacity (a burst of replies does not stay
    /// allocated for the life of the connection).
    static let keptOutputCapacity = 1 << 16
    /// What the handshake timer holds: the connection until it is established or closed, then nothing,
    /// so a closed connection is freed at once rather than when the timer fires.
    final class TimerHold { var connection: Connection? }
    let timerHold = TimerHold()

    public init(fd: FileDescriptor, loop: EventLoop, handshake: NoiseHandshake, maxFrame: Int = 65_535, maxQueued: Int = 1 << 20,
                connecting: Bool = false, handshakeTimeout: UInt64 = 5_000_000_000) {
        self.fd = fd
        self.loop = loop
        state = connecting ? .connecting(handshake) : .handshaking(handshake)
        self.maxFrame = min(maxFrame, 65_535)
        self.maxQueued = maxQueued
        timerHold.connection = self
        let hold = timerHold
        loop.after(handshakeTimeout) {
            if let c = hold.connection, !c.isEstablished, !c.isClosed { c.close("handshake timed out") }
            hold.connection = nil
        }
    }

    deinit { input?.deallocate() }

    /// Bytes this connection holds in its buffers (input and output capacity), for tests and metrics.
    public var bufferBytes: Int { inputCapacity + output.capacity }

    /// Makes room for `bytes` of input (at most one largest frame and its length).
    func reserveInput(_ bytes: Int) {
        guard bytes > inputCapacity else { return }
        let capacity = min(max(bytes, Self.initialInput), maxFrame + 2)
        let grown = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
        if let input {
            grown.copyMemory(from: input, byteCount: inputCount)
            input.deallocate()
        }
        input = grown
        inputCapacity = capacity
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
        if readingPaused && events & (EventLoop.hangup | EventLoop.error) != 0 { close("peer hung up"); return }
        if events & EventLoop.readable != 0 || events & EventLoop.hangup != 0 { readAvailable() }
        if isClosed { return }
        if events & EventLoop.writable != 0 { flush() }
        if readingPaused, !isClosed, queuedBytes <= pauseReadingAbove ?? Int.max {
            // The peer read its replies: take up its waiting frames again.
            readingPaused = false
            framesThisTurn = 0
            processFrames()
            if !isClosed { loop.modify(fd, events: interest) }
        }
    }

    /// Frames handled per readiness event (plus what the read that reached it already brought in: at most
    /// one frame buffer): the rest waits in the socket, and since epoll is level-triggered the loop comes
    /// back to this connection after serving the others. One flooding peer can neither starve the rest
    /// nor make one turn last seconds; 128 packets are about 5 ms of unwrapping.
    public var framesPerTurn = 128
    var framesThisTurn = 0

    /// Back-pressure: with more than this many bytes queued for the peer, its further frames wait (in
    /// its socket and ours) until it has read its replies. So a peer that sends requests and never reads
    /// the answers holds at most this plus one reply of output. nil: no limit but `maxQueued`.
    public var pauseReadingAbove: Int?
    var readingPaused = false

    /// Paused, the connection waits for writability only (even with nothing queued: the next event then
    /// resumes it, whoever drained the queue).
    var interest: UInt32 {
        readingPaused ? EventLoop.writable : EventLoop.readable | (outputStart < output.count ? EventLoop.writable : 0)
    }

    func readAvailable() {
        framesThisTurn = 0
        if input == nil { reserveInput(min(Self.initialInput, maxFrame + 2)) }
        while !isClosed && !readingPaused && framesThisTurn < framesPerTurn {
            guard let input, inputCount < inputCapacity else { return }
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
        while !isClosed, inputCount >= 2, let buffer = input {
            if let limit = pauseReadingAbove, queuedBytes > limit {
                readingPaused = true
                loop.modify(fd, events: interest)
                return
            }
            let length = Int(buffer.load(fromByteOffset: 0, as: UInt8.self)) << 8 | Int(buffer.load(fromByteOffset: 1, as: UInt8.self))
            if length > maxFrame { close("oversize frame (\(length) bytes)"); return }
            guard inputCount >= 2 + length else {
                reserveInput(2 + length)   // a frame larger than the buffer: room for it, once
                return
            }
            frame(UnsafeMutableRawBufferPointer(start: buffer + 2, count: length))
            if isClosed { return }   // (the buffer is gone)
            framesThisTurn += 1
            let consumed = 2 + length
            if inputCount > consumed { buffer.copyMemory(from: buffer + consumed, byteCount: inputCount - consumed) }
            inputCount -= consumed
        }
    }

    /// One frame, decrypted in place once the handshake is done.
    func frame(_ bytes: UnsafeMutableRawBufferPointer) {
        switch state {
        case .handshaking(let hs):
            do {
                _ = try hs.readMessage(Array(UnsafeRawBufferPointer(bytes)))
            } catch {
                close(error.description)
                return
            }
            advanceHandshake()
        case .established(var transport):
            guard bytes.count >= 16 else { close("short frame"); return }
            do {
                try transport.receive.decrypt(ad: UnsafeRawBufferPointer(start: nil, count: 0), ciphertext: bytes.baseAddress!,
                                              count: bytes.count, output: bytes.baseAddress!)
            } catch {
                close("frame failed authentication")
                return
            }
            state = .established(transport)
            onMessage?(self, UnsafeRawBufferPointer(start: bytes.baseAddress, count: bytes.count - 16))
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
            timerHold.connection = nil
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
            output.removeAll(keepingCapacity: output.capacity <= Self.keptOutputCapacity)
            outputStart = 0
        } else if outputStart > 1 << 16 {
            output.removeFirst(outputStart)
            outputStart = 0
        }
        loop.modify(fd, events: interest)
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
        timerHold.connection = nil
        input?.deallocate()
        input = nil
        inputCount = 0
        inputCapacity = 0
        output = []
        outputStart = 0
        let callback = onClose
        onClose = nil
        onMessage = nil
        onEstablished = nil
        callback?(self, reason)
    }
}
