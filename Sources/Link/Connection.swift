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
    public let fd: Int32
    let loop: EventLoop
    var handshake: NoiseHandshake?
    var transport: NoiseTransport?
    public let maxFrame: Int
    public let maxQueued: Int
    public private(set) var isEstablished = false
    public private(set) var isClosed = false
    public var remoteStatic: [UInt8]? { transport?.remoteStatic ?? handshake?.remoteStatic }
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
    var connecting: Bool

    public init(fd: Int32, loop: EventLoop, handshake: NoiseHandshake, maxFrame: Int = 65_535, maxQueued: Int = 1 << 20,
                connecting: Bool = false, handshakeTimeout: UInt64 = 5_000_000_000) {
        self.fd = fd
        self.loop = loop
        self.handshake = handshake
        self.maxFrame = min(maxFrame, 65_535)
        self.maxQueued = maxQueued
        self.connecting = connecting
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

    /// Registers with the loop and, for initiators, sends the first handshake message.
    public func start() {
        do {
            try loop.watch(fd, events: EventLoop.readable | (connecting ? EventLoop.writable : 0)) { [self] events in
                self.handle(events)
            }
        } catch {
            close("cannot watch socket: \(error.message)")
            return
        }
        if !connecting { advanceHandshake() }
    }

    func handle(_ events: UInt32) {
        if connecting && events & (EventLoop.writable | EventLoop.error | EventLoop.hangup) != 0 {
            let err = TCP.connectError(fd)
            if err != 0 { close(SystemError(err, "connect").message); return }
            connecting = false
            advanceHandshake()
        }
        if events & EventLoop.readable != 0 || events & EventLoop.hangup != 0 { readAvailable() }
        if isClosed { return }
        if events & EventLoop.writable != 0 { flush() }
    }

    func readAvailable() {
        while !isClosed {
            let n: Int?
            do { n = try TCP.read(fd, input + inputCount, inputCapacity - inputCount) } catch {
                close(error.message)
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
            let consumed = 2 + length
            if inputCount > consumed { input.copyMemory(from: input + consumed, byteCount: inputCount - consumed) }
            inputCount -= consumed
        }
    }

    func frame(_ bytes: UnsafeRawBufferPointer) {
        if let hs = handshake {
            do {
                _ = try hs.readMessage(Array(bytes))
            } catch {
                close(error.description)
                return
            }
            advanceHandshake()
            return
        }
        guard transport != nil else { close("frame before handshake"); return }
        guard bytes.count >= 16 else { close("short frame"); return }
        do {
            try transport!.receive.decrypt(ad: UnsafeRawBufferPointer(start: nil, count: 0), ciphertext: bytes.baseAddress!,
                                           count: bytes.count, output: plain)
        } catch {
            close("frame failed authentication")
            return
        }
        onMessage?(self, UnsafeRawBufferPointer(start: plain, count: bytes.count - 16))
    }

    /// Writes handshake messages while it is our turn; switches to transport when complete.
    func advanceHandshake() {
        guard let hs = handshake else { return }
        while !hs.isComplete && hs.isOurTurn {
            do { queueFrame(try hs.writeMessage()) } catch {
                close(error.description)
                return
            }
        }
        if hs.isComplete {
            do { transport = try hs.split() } catch { close(error.description); return }
            handshake = nil
            isEstablished = true
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
        guard isEstablished, !isClosed, payload.count + 16 <= maxFrame else { return false }
        guard output.count - outputStart + payload.count + 18 <= maxQueued else { return false }
        let length = payload.count + 16
        output.append(UInt8(length >> 8))
        output.append(UInt8(length & 0xff))
        let start = output.count
        output.append(contentsOf: repeatElement(0, count: length))
        output.withUnsafeMutableBytes { o in
            transport!.send.encrypt(ad: UnsafeRawBufferPointer(start: nil, count: 0), plaintext: payload.baseAddress,
                                    count: payload.count, output: o.baseAddress! + start)
        }
        flush()
        return true
    }

    @discardableResult
    public func send(_ payload: [UInt8]) -> Bool { payload.withUnsafeBytes { send($0) } }

    public var queuedBytes: Int { output.count - outputStart }

    func flush() {
        guard !isClosed, !connecting else { return }
        while outputStart < output.count {
            let written: Int
            do {
                written = try withBytes(output) { (o) throws(SystemError) in
                    try TCP.write(fd, o.baseAddress! + outputStart, output.count - outputStart)
                }
            } catch {
                close(error.message)
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
        isClosed = true
        loop.unwatch(fd)
        TCP.close(fd)
        transport?.send.wipe()
        transport?.receive.wipe()
        let callback = onClose
        onClose = nil
        onMessage = nil
        onEstablished = nil
        callback?(self, reason)
    }
}
