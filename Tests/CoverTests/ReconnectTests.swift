import Foundation
import PosternClient
import PosternCrypto
import PosternLocalNetwork
import PosternNetwork
import PosternSystem
import Testing

/// A client whose gateway keeps failing backs off (1, 2, 4 … s, ±25%) instead of dialling again for
/// every request; what it is asked meanwhile fails at once, with the wait in the reason.
@Suite struct ReconnectTests {
    @Test func aFailingGatewayIsDialledWithBackoff() throws {
        let listener = try ClosingListener()
        defer { listener.stop() }
        let loop = try EventLoop()
        let gateway = NodeInfo(id: .zero, role: .gateway, address: "", clientAddress: "127.0.0.1:\(listener.port)",
                               linkKey: Bytes32([UInt8](repeating: 9, count: 32))!, packetKey: .zero)
        let client = GatewayClient(loop: loop, gateway: gateway)
        var sent = 0, answered = 0, reasons: [String] = []
        let start = EventLoop.now()
        // A request every 20 ms for 3.5 s (up to 175 requests): each would have dialled again before.
        while EventLoop.now() - start < 3_500_000_000 {
            sent += 1
            client.view(offset: 0) { page in
                answered += 1
                if page == nil { reasons.append("failed") }
            }
            loop.run(until: EventLoop.now() + 20_000_000)
        }
        _ = loop.run(until: EventLoop.now() + 200_000_000)
        // Attempts at 0 s, after 0.75–1.25 s, then after 1.5–2.5 s more: two or three in 3.5 s.
        #expect((2...3).contains(listener.accepted), "\(listener.accepted) connections for \(sent) requests")
        #expect(client.failures == listener.accepted)
        #expect(sent >= 20 && answered == sent && reasons.count == answered, "every request answered (failed): \(answered) of \(sent)")
    }
}

/// A connection that falls silent (nothing answers, nothing closes: a phone that changed networks)
/// fails a poll `answerGraceSeconds` after its hold, instead of waiting for ever.
@Suite struct SilentLinkTests {
    @Test func aPollOnASilentConnectionFailsAfterItsHoldAndGrace() throws {
        let dir = NSTemporaryDirectory() + "postern-silent-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let net = try LocalNetwork(layers: 1, gateways: 1, dataDirectory: dir)
        try net.start()
        defer { net.stop() }
        var gateway = net.gateways[0]
        let proxy = try RecordingProxy(to: try #require(gateway.clientAddress))
        defer { _ = proxy.stop() }
        gateway.clientAddress = "127.0.0.1:\(proxy.port)"
        let client = GatewayClient(loop: net.loop, gateway: gateway)
        defer { client.close() }
        client.answerGraceSeconds = 2
        let wanted: Set<Bytes32> = [Bytes32([UInt8](repeating: 3, count: 32))!]
        var answer: Bool?
        client.poll(wanted) { _, _, ok in answer = ok }
        #expect(net.run(seconds: 20) { answer != nil })
        #expect(answer == true && client.isConnected)
        proxy.lock.withLock { proxy.silent = true }
        answer = nil
        let start = EventLoop.now()
        client.poll(wanted, holdSeconds: 1) { _, _, ok in answer = ok }
        #expect(net.run(seconds: 20) { answer != nil })
        let waited = Double(EventLoop.now() - start) / 1e9
        #expect(answer == false && !client.isConnected, "answered \(String(describing: answer)) after \(waited) s")
        #expect(waited >= 2.9 && waited < 10, "\(waited) s")
    }
}

/// A TCP listener on 127.0.0.1 (ephemeral port) that accepts and at once closes every connection,
/// counting them: a gateway that is there but never completes a handshake.
final class ClosingListener: @unchecked Sendable {
    let port: UInt16
    let fd: Int32
    let lock = NSLock()
    var count = 0
    var accepted: Int { lock.withLock { count } }

    init() throws {
        let (fd, port) = try loopbackListener()
        self.fd = fd
        self.port = port
        Thread { [self] in
            while true {
                let c = accept(fd, nil, nil)
                guard c >= 0 else { return }
                lock.withLock { count += 1 }
                close(c)
            }
        }.start()
    }

    func stop() {
        shutdown(fd, Int32(SHUT_RDWR))
        close(fd)
    }
}
