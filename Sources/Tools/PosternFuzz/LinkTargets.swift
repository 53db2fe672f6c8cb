import PosternCrypto
import PosternLink
import PosternNetwork
import PosternSystem

/// A node's link key and a client's view of it, fixed for the process.
enum FuzzKeys {
    static let nodeStatic = [UInt8](repeating: 0x33, count: 32)
    static let initiatorStatic = [UInt8](repeating: 0x44, count: 32)
    static var nodePublic: [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        nodeStatic.withUnsafeBytes { s in out.withUnsafeMutableBytes { X25519.publicKey(secret: s.baseAddress!, into: $0.baseAddress!) } }
        return out
    }

    /// The two handshakes a node answers (links between nodes: XK; clients: NK), responder side.
    static func responder(_ xk: Bool) -> NoiseHandshake {
        try! NoiseHandshake(pattern: xk ? .XK : .NK, initiator: false, prologue: xk ? Prologue.link : Prologue.client, staticKey: nodeStatic)
    }
    static func initiator(_ xk: Bool) -> NoiseHandshake {
        try! NoiseHandshake(pattern: xk ? .XK : .NK, initiator: true, prologue: xk ? Prologue.link : Prologue.client,
                            staticKey: xk ? initiatorStatic : nil, remoteStatic: nodePublic)
    }
}

/// Noise handshake messages from a stranger, to a node (XK and NK responders: first message) and back to
/// a dialler (second message). Mode byte: 0 XK responder (message 1, then 3), 1 NK responder, 2 XK and 3
/// NK initiators reading message 2.
func noiseHandshakeTarget() -> FuzzTarget {
    FuzzTarget(name: "noise-handshake", summary: "NoiseHandshake.readMessage: XK/NK responders (messages 1 and 3), XK/NK initiators (message 2)",
               seeds: {
        var seeds: [[UInt8]] = []
        for xk in [true, false] {
            let i = FuzzKeys.initiator(xk), r = FuzzKeys.responder(xk)
            guard let m1 = try? i.writeMessage(), (try? r.readMessage(m1)) != nil, let m2 = try? r.writeMessage() else { continue }
            seeds.append([xk ? 0 : 1] + m1)
            seeds.append([xk ? 2 : 3] + m2)
        }
        return seeds
    }, run: { input in
        var f = FuzzInput(input)
        let mode = f.byte() % 4
        let rest = f.rest
        switch mode {
        case 0, 1:
            let r = FuzzKeys.responder(mode == 0)
            let cut = mode == 0 ? min(rest.count, 48) : rest.count
            guard (try? r.readMessage(Array(rest.prefix(cut)))) != nil else { return }
            Fuzz.require(!r.isComplete || mode == 1, "XK finished after one message")
            guard mode == 0, (try? r.writeMessage()) != nil else { return }
            if (try? r.readMessage(Array(rest.dropFirst(cut)))) != nil { Fuzz.require(r.isComplete, "XK not finished after message 3") }
        default:
            let i = FuzzKeys.initiator(mode == 2)
            guard (try? i.writeMessage()) != nil else { return }
            _ = try? i.readMessage(rest)
        }
    })
}

/// Raw bytes from a TCP peer into a node's `Connection` (framing, handshake, transport authentication,
/// size limits), through a local socket pair and the real event loop. Mode byte: 0 a stranger's bytes
/// from the first one; 1 an honest XK handshake first, then the bytes as transport frames. Whatever
/// arrives, the connection ends closed once the peer hangs up (never spins, never stays half-open).
func linkFramesTarget() -> FuzzTarget {
    final class Harness {
        nonisolated(unsafe) static let shared = Harness()
        let loop = try! EventLoop()
    }
    func framed(_ m: [UInt8]) -> [UInt8] { [UInt8(m.count >> 8), UInt8(m.count & 0xff)] + m }
    return FuzzTarget(name: "link-frames", summary: "bytes from a TCP peer into a node's Connection (XK responder) over a socket pair; it always ends closed",
                      seeds: {
        let i = FuzzKeys.initiator(true)
        guard let m1 = try? i.writeMessage() else { return [] }
        return [[0] + framed(m1), [0] + framed(m1) + framed([UInt8](repeating: 7, count: 64)),
                [1] + framed([UInt8](repeating: 1, count: 40)) + framed([UInt8](repeating: 2, count: 17))]
    }, run: { input in
        let h = Harness.shared
        var f = FuzzInput(input)
        let honest = f.byte() % 2 == 1
        let bytes = f.rest
        guard let (mine, theirs) = try? TCP.pair() else { return }
        let c = Connection(fd: mine, loop: h.loop, handshake: FuzzKeys.responder(true), maxFrame: 4096, maxQueued: 1 << 16,
                           handshakeTimeout: 200_000_000)
        var closedWith: String?
        c.onClose = { _, reason in closedWith = reason }
        c.start()
        func send(_ b: [UInt8]) {
            var sent = 0
            while sent < b.count {
                let n = b.withUnsafeBytes { (try? TCP.write(theirs, $0.baseAddress! + sent, b.count - sent)) ?? -1 }
                if n < 0 { return }
                if n == 0 { h.loop.run(until: EventLoop.now() &+ 1_000_000) } else { sent += n }
            }
        }
        func receive(_ count: Int) -> [UInt8]? {
            var out = [UInt8](repeating: 0, count: count), got = 0
            let end = EventLoop.now() &+ 1_000_000_000
            while got < count && EventLoop.now() < end {
                h.loop.run(until: EventLoop.now() &+ 1_000_000)
                let n: Int? = out.withUnsafeMutableBytes { o in
                    do throws(SystemError) { return try TCP.read(theirs, o.baseAddress! + got, count - got) } catch { return 0 }
                }
                if let n { if n == 0 { return nil }; got += n }
            }
            return got == count ? out : nil
        }
        if honest {
            let i = FuzzKeys.initiator(true)
            if let m1 = try? i.writeMessage() { send(framed(m1)) }
            if let head = receive(2), let m2 = receive(Int(head[0]) << 8 | Int(head[1])), (try? i.readMessage(m2)) != nil,
               let m3 = try? i.writeMessage() {
                send(framed(m3))
                h.loop.run(until: EventLoop.now() &+ 2_000_000_000, stopWhen: { c.isEstablished || c.isClosed })
                Fuzz.require(c.isEstablished || c.isClosed, "an honest handshake neither finished nor failed")
            }
        }
        send(bytes)
        theirs.close()
        h.loop.run(until: EventLoop.now() &+ 2_000_000_000, stopWhen: { c.isClosed })
        Fuzz.require(c.isClosed, "connection still open 2 s after its peer hung up")
        Fuzz.require(closedWith != nil, "closed without a reason")
    })
}
