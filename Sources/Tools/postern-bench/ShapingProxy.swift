import PosternCover
import PosternNetwork
import PosternSystem

/// An in-process TCP proxy on 127.0.0.1 that makes a client's link to its gateway a poor mobile one
/// (suite `mobile`): each direction carries at most `bitsPerSecond`, every byte arrives half the round
/// trip late, and every connection through it is cut at random times (exponential gaps of mean
/// `dropEverySeconds`, from `seed`: the same seed cuts at the same times). It runs on the client's event
/// loop. It also notes when bytes went through, each way (`activity`, seconds since it started).
final class ShapingProxy {
    struct Shape {
        var bitsPerSecond: Double = 0   // 0: no cap
        var rttMillis: Double = 0
        var dropEverySeconds: Double?
        var seed: UInt64 = 1
    }

    let loop: EventLoop
    let shape: Shape
    let target: (host: String, port: UInt16)
    let listener: FileDescriptor
    let port: UInt16
    var random: SimRandom
    var pairs: [Pair] = []
    private(set) var drops = 0
    let started = Clock.monotonicNanoseconds()
    /// When bytes went through (seconds since the start, either way).
    private(set) var activity: [Double] = []
    var stopped = false
    let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 16_384, alignment: 8)

    /// One direction of one connection: bytes wait for the link to be free (the cap), then half the
    /// round trip, then are written in order.
    final class Pipe {
        let from: FileDescriptor, to: FileDescriptor
        var linkFree: UInt64 = 0
        var pending: [UInt8] = []   // due, not yet accepted by the receiving socket
        init(from: FileDescriptor, to: FileDescriptor) { self.from = from; self.to = to }
    }

    final class Pair {
        let client: FileDescriptor, gateway: FileDescriptor
        let up: Pipe, down: Pipe
        var closed = false
        init(client: FileDescriptor, gateway: FileDescriptor) {
            self.client = client
            self.gateway = gateway
            up = Pipe(from: client, to: gateway)
            down = Pipe(from: gateway, to: client)
        }
    }

    init(loop: EventLoop, to endpoint: String, shape: Shape) throws(SystemError) {
        guard let target = TCP.parse(endpoint) else { throw SystemError(22, "proxy target") }   // EINVAL
        self.loop = loop
        self.shape = shape
        self.target = target
        random = SimRandom(seed: shape.seed)
        listener = try TCP.listen("127.0.0.1", 0)
        port = TCP.localPort(listener)
        try loop.watch(listener, events: EventLoop.readable) { [self] _ in self.accept() }
        scheduleDrop()
    }

    deinit { scratch.deallocate() }

    var address: String { "127.0.0.1:\(port)" }

    func stop() {
        stopped = true
        for p in pairs { close(p) }
        pairs = []
        loop.unwatch(listener)
        listener.close()
    }

    func scheduleDrop() {
        guard let mean = shape.dropEverySeconds else { return }
        let gap = Exponential.sample(mean: mean, uniform53: random.next())
        loop.after(UInt64(gap * 1e9)) { [self] in
            guard !self.stopped else { return }
            if !self.pairs.isEmpty { self.drops += 1 }
            for p in self.pairs { self.close(p) }
            self.pairs = []
            self.scheduleDrop()
        }
    }

    func accept() {
        while let client = try? TCP.accept(listener) {
            guard let gateway = try? TCP.connect(target.host, target.port) else { client.close(); continue }
            let pair = Pair(client: client, gateway: gateway)
            pairs.append(pair)
            for pipe in [pair.up, pair.down] {
                try? loop.watch(pipe.from, events: EventLoop.readable) { [self] _ in self.read(pipe, pair) }
            }
        }
    }

    func close(_ p: Pair) {
        guard !p.closed else { return }
        p.closed = true
        for fd in [p.client, p.gateway] {
            loop.unwatch(fd)
            fd.close()
        }
    }

    func read(_ pipe: Pipe, _ pair: Pair) {
        while !pair.closed {
            let n: Int?
            do throws(SystemError) { n = try TCP.read(pipe.from, scratch.baseAddress!, scratch.count) } catch { close(pair); pairs.removeAll { $0 === pair }; return }                   // an error
            guard let count = n else { return }                                                // would block
            guard count > 0 else { close(pair); pairs.removeAll { $0 === pair }; return }      // closed
            let now = Clock.monotonicNanoseconds()
            activity.append(Double(now &- started) / 1e9)
            let start = max(now, pipe.linkFree)
            let sending = shape.bitsPerSecond > 0 ? UInt64(Double(count * 8) / shape.bitsPerSecond * 1e9) : 0
            pipe.linkFree = start &+ sending
            let due = pipe.linkFree &+ UInt64(shape.rttMillis / 2 * 1e6)
            let chunk = Array(UnsafeRawBufferPointer(rebasing: scratch[..<count]))
            loop.after(due &- now) { [self] in
                guard !pair.closed else { return }
                pipe.pending += chunk
                self.flush(pipe, pair)
            }
        }
    }

    /// Writes what is due; what the socket does not take yet is tried again in a millisecond (a
    /// connection to the gateway still being made, or a full socket buffer).
    func flush(_ pipe: Pipe, _ pair: Pair) {
        guard !pair.closed, !pipe.pending.isEmpty else { return }
        var result: Int?
        pipe.pending.withUnsafeBytes { b in
            do throws(SystemError) { result = try TCP.write(pipe.to, b.baseAddress!, b.count) } catch { result = nil }
        }
        guard let written = result else { close(pair); pairs.removeAll { $0 === pair }; return }
        pipe.pending.removeFirst(written)
        if !pipe.pending.isEmpty { loop.after(1_000_000) { [self] in self.flush(pipe, pair) } }
    }
}
