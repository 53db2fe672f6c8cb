import Foundation
import PosternClient
import PosternCover
import PosternCrypto
import PosternLocalNetwork
import PosternNetwork
import PosternNode
import PosternPacket
import PosternSystem
import Testing

/// What a passive observer of the links sees (docs/ANONYMITY.md "Tested"): a recording TCP proxy sits on a
/// client's link to its gateway and reads the frame lengths (the 2-byte prefix every Noise frame has on
/// the wire) and when each frame passed.
@Suite(.serialized) struct ObserverTests {
    typealias Frame = (time: Double, length: Int)

    /// Two clients observed side by side on one network for `seconds`, so both see the same machine load:
    /// quiet alice, who has nothing to send, and busy carol, with `messages` queued for bob. Both run
    /// `inbox --watch`-style cover (2 packets/s) and poll every 0.5 s.
    static func observedClients(messages: Int, seconds: Double) throws -> [(up: [Frame], down: [Frame])] {
        let dir = NSTemporaryDirectory() + "postern-observer-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let net = try LocalNetwork(layers: 3, gateways: 2, dataDirectory: dir + "/net")
        try net.start()
        defer { net.stop() }
        let profiles = try Profile.onGateways([("alice", 0), ("carol", 0), ("bob", 1)], of: net, in: dir)
        try profiles[0].meet(profiles[2], calling: "bob", calledBy: "alice", now: Clock.wallSeconds())
        try profiles[1].meet(profiles[2], calling: "bob", calledBy: "carol", now: Clock.wallSeconds())
        let network = ClientNetwork(parameters: net.parameters, bootstrap: net.gatewayPeer(0))
        #expect(network.refreshNow(loop: net.loop, seconds: 20) == 0)
        var proxies: [RecordingProxy] = [], sessions: [Session] = [], covers: [ClientCover] = []
        defer { for s in sessions { s.close() } }
        for profile in profiles.prefix(2) {
            // The client's link goes through its observer.
            var gateway = try #require(network.gateway(net.gateways[0].id))
            let proxy = try RecordingProxy(to: try #require(gateway.clientAddress))
            gateway.clientAddress = "127.0.0.1:\(proxy.port)"
            let link = GatewayClient(loop: net.loop, gateway: gateway)
            let session = try Session(profile: profile, network: network, loop: net.loop, meanDelayMicros: 5_000, client: link, owning: true)
            var cover = CoverConfig()
            cover.payloadRate = 1.6; cover.loopRate = 0.2; cover.dropRate = 0.2
            cover.bytesPerDay = 100 << 30   // one level throughout
            let c = ClientCover(courier: session.courier, client: link, config: cover, loop: net.loop)
            session.cover = c
            c.sendReal = { ((try? session.flushOutbox(limit: 1)) ?? 0) == 1 }
            proxies.append(proxy); sessions.append(session); covers.append(c)
        }
        for i in 0..<messages { _ = try sessions[1].queue(Array("observed \(i)".utf8), to: "bob") }
        for c in covers { c.start() }
        var lastPoll = EventLoop.now()
        _ = net.run(seconds: seconds) {
            if EventLoop.now() - lastPoll > 500_000_000 { lastPoll = EventLoop.now(); for s in sessions { s.poll { _ in } } }
            return false
        }
        for c in covers { c.stop() }
        #expect(covers[0].sent.real == 0 && covers[0].sent.dummies > 30, "alice sent \(covers[0].sent)")
        #expect(covers[1].sent.real > 30 && covers[1].sent.dummies == 0, "carol sent \(covers[1].sent)")
        return proxies.map { $0.stop() }
    }

    /// A client's link looks the same whether its person sends messages or not. Uplink: the same frame
    /// sizes (every packet one size, every control request one size) and packet departures from one
    /// distribution (two-sample KS p > 0.001), exponential at the configured rate (p > 0.001), while
    /// twice the rate is rejected (p < 0.01). Downlink: answers of the same sizes (two-sample KS
    /// p > 0.001): every payload slot is acknowledged, dummy or not. (Four checks that the samples agree,
    /// on real random timings: at p > 0.01 each, chance alone failed about one run in 25, and a `.ci/run`
    /// with a second test run beside it saw p = 0.004 once. The checks that the tests can tell
    /// distributions apart keep p < 0.01.)
    @Test func aClientsLinkLooksTheSameWithAndWithoutMessages() throws {
        let runs = try Self.observedClients(messages: 200, seconds: 45)
        let (quiet, quietDown) = runs[0], (busy, busyDown) = runs[1]
        let packetFrame = 5 + Geometry.standard.packetBytes + 16   // op, request id, packet, Noise tag
        let controlFrame = 5 + ClientRequest.controlBodyBytes + 16
        let pollFrame = 5 + 5 + 16   // a POLL that changes nothing
        // The first frame is the Noise NK handshake's first message, the same for every client.
        for run in [quiet, busy] {
            #expect(Set(run.dropFirst().map(\.length)).isSubset(of: [packetFrame, controlFrame, pollFrame]), "\(Set(run.map(\.length)))")
            #expect(run.contains { $0.length == packetFrame } && run.contains { $0.length == controlFrame })
        }
        #expect(quiet.first?.length == busy.first?.length)
        // A POLL is small when no address changed since the last: the cover's packets change them alike
        // for both, so the share of small polls is the same within chance (~0.07 standard deviation here).
        func smallShare(_ run: [Frame]) -> Double {
            let control = run.filter { $0.length == controlFrame || $0.length == pollFrame }
            return Double(control.filter { $0.length == pollFrame }.count) / Double(max(1, control.count))
        }
        #expect(abs(smallShare(quiet) - smallShare(busy)) < 0.25, "small POLL share \(smallShare(quiet)) vs \(smallShare(busy))")
        // Downlink: answers that carry stored items (loops, acknowledgements; longer than an empty POLL
        // answer's 27 bytes or a status's 24) come in the same sizes and add up to about the same bytes.
        let (quietItems, busyItems) = (quietDown.filter { $0.length > 48 }, busyDown.filter { $0.length > 48 })
        let down = KS.twoSample(quietItems.map { Double($0.length) }, busyItems.map { Double($0.length) })
        let bytes = (Double(quietItems.reduce(0) { $0 + $1.length }), Double(busyItems.reduce(0) { $0 + $1.length }))
        func histogram(_ f: [Frame]) -> [(key: Int, value: Int)] { f.reduce(into: [:]) { $0[$1.length, default: 0] += 1 }.sorted { $0.key < $1.key } }
        let detail = "frames \(quietDown.count)/\(busyDown.count), item bytes \(bytes): \(histogram(quietDown)) vs \(histogram(busyDown))"
        #expect(down.p > 0.001, "downlink item frames: D = \(down.d), p = \(down.p); \(detail)")
        #expect(bytes.1 / bytes.0 > 0.6 && bytes.1 / bytes.0 < 1.67, "\(detail)")
        func gaps(_ run: [Frame]) -> [Double] {
            let t = run.filter { $0.length == packetFrame }.map(\.time)
            return zip(t.dropFirst(), t).map { $0 - $1 }
        }
        let (a, b) = (gaps(quiet), gaps(busy))
        #expect(a.count > 50 && b.count > 50)
        let same = KS.twoSample(a, b)
        #expect(same.p > 0.001, "quiet vs busy departures: D = \(same.d), p = \(same.p)")
        for g in [a, b] {
            let fit = KolmogorovSmirnov.exponential(g, rate: 2)
            #expect(fit.p > 0.001, "departures against the configured exponential: D = \(fit.d), p = \(fit.p)")
            #expect(KolmogorovSmirnov.exponential(g, rate: 4).p < 0.01)
        }
        // And the two-sample test has teeth: the busy gaps stretched to three times as long are told apart.
        #expect(KS.twoSample(a, b.map { $0 * 3 }).p < 0.01)
    }

    /// At a mix, the delay between a packet arriving and leaving follows the exponential its sender chose
    /// (mean 200 ms; twice the rate is rejected): one packet at a time goes through a mix, so that arrival
    /// and departure pair up.
    @Test func aMixHoldsPacketsForExponentialDelays() throws {
        let dir = NSTemporaryDirectory() + "postern-observer-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let net = try LocalNetwork(layers: 3, gateways: 2, dataDirectory: dir + "/net")
        try net.start()
        defer { net.stop() }
        let network = ClientNetwork(parameters: net.parameters, bootstrap: net.gatewayPeer(0))
        #expect(network.refreshNow(loop: net.loop, seconds: 20) == 0)
        let map = network.topology
        let gateway = try #require(map.gateways.first)
        let client = GatewayClient(loop: net.loop, gateway: gateway)
        defer { client.close() }
        let builder = PacketBuilder(geometry: net.parameters.geometry)
        let mean = 200_000.0   // µs at the middle mix; no delay elsewhere
        let mixes = map.randomMixPath()
        let node = try #require(net.nodes.first { $0.id == mixes[1].id })
        // Waits in 1 ms turns of the event loop (the node's counters are the observer's view of its links:
        // a packet arrives when 'in' rises, leaves when 'out' does).
        func wait(_ condition: () -> Bool) -> Bool {
            let end = EventLoop.now() + 10_000_000_000
            while !condition() {
                if EventLoop.now() > end { return false }
                net.loop.run(until: EventLoop.now() + 1_000_000)
            }
            return true
        }
        var delays: [Double] = [], done = 0
        for _ in 0..<120 {
            var hops = ([gateway] + mixes + [map.gateways[1]]).map { map.hop($0, meanDelayMicros: 0) }
            hops[2].delayMicros = Topology.hopDelayMicros(mean: mean)
            let packet = try builder.build(route: hops, to: .mailbox(.random()), message: [1, 2, 3])
            let (before, after) = (node.stats.packetsIn, node.stats.packetsOut)
            client.submit(packet) { _, _ in }
            guard wait({ node.stats.packetsIn > before }) else { break }
            let arrived = EventLoop.now()
            guard wait({ node.stats.packetsOut > after }) else { break }
            delays.append(Double(EventLoop.now() - arrived) / 1e9)
            done += 1
        }
        #expect(done == 120)
        let (d, p) = KolmogorovSmirnov.exponential(delays, rate: 1e6 / mean)
        #expect(p > 0.001, "D = \(d), p = \(p)")   // agreement at 0.001: real random delays, 1 run in 1 000 by chance
        #expect(KolmogorovSmirnov.exponential(delays, rate: 2e6 / mean).p < 0.01)
    }
}

/// Two-sample Kolmogorov–Smirnov test (asymptotic p, the Kolmogorov distribution).
enum KS {
    static func twoSample(_ a: [Double], _ b: [Double]) -> (d: Double, p: Double) {
        let x = a.sorted(), y = b.sorted()
        var i = 0, j = 0, d = 0.0
        while i < x.count && j < y.count {
            let v = min(x[i], y[j])
            while i < x.count && x[i] <= v { i += 1 }
            while j < y.count && y[j] <= v { j += 1 }
            d = max(d, abs(Double(i) / Double(x.count) - Double(j) / Double(y.count)))
        }
        let n = Double(x.count * y.count) / Double(x.count + y.count)
        let lambda = (n.squareRoot() + 0.12 + 0.11 / n.squareRoot()) * d
        var p = 0.0
        for k in 1...100 { p += 2 * (k % 2 == 1 ? 1 : -1) * exp(-2 * Double(k * k) * lambda * lambda) }
        return (d, min(1, max(0, p)))
    }
}

/// A TCP proxy on 127.0.0.1 (an ephemeral port) in front of `host:port`, for one connection: bytes go
/// through unchanged; the frames each way (2-byte big-endian length ‖ frame) are recorded with the time
/// their last byte passed.
final class RecordingProxy: @unchecked Sendable {
    let port: UInt16
    let listener: Int32
    let lock = NSLock()
    var frames: [(time: Double, length: Int)] = []
    var downFrames: [(time: Double, length: Int)] = []
    var sockets: [Int32] = []
    let start = Date()
    /// Set: bytes are swallowed from now on, the connections left open (a link that died silently).
    var silent = false

    init(to target: String) throws {
        let parts = target.split(separator: ":")
        let targetHost = String(parts[0]), targetPort = UInt16(parts[1])!
        let (fd, port) = try loopbackListener()
        listener = fd
        self.port = port
        Thread { [self] in
            let client = accept(fd, nil, nil)
            guard client >= 0 else { return }
            let server = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var to = sockaddr_in()
            to.sin_family = sa_family_t(AF_INET)
            to.sin_addr.s_addr = inet_addr(targetHost)
            to.sin_port = targetPort.bigEndian
            let ok = withUnsafePointer(to: &to) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(server, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            guard ok == 0 else { close(client); return }
            lock.withLock { sockets += [client, server] }
            Thread { self.pump(from: server, to: client, up: false) }.start()
            self.pump(from: client, to: server, up: true)
        }.start()
    }

    func pump(from: Int32, to: Int32, up: Bool) {
        var buffer = [UInt8](repeating: 0, count: 65_536)
        var pending: [UInt8] = []
        while true {
            let n = buffer.withUnsafeMutableBytes { read(from, $0.baseAddress, $0.count) }
            guard n > 0 else { break }
            let now = Date().timeIntervalSince(start)
            if lock.withLock({ silent }) { continue }
            var off = 0
            while off < n {
                let w = buffer.withUnsafeBytes { write(to, $0.baseAddress! + off, n - off) }
                guard w > 0 else { return }
                off += w
            }
            pending += buffer[0..<n]
            while pending.count >= 2 {
                let length = Int(pending[0]) << 8 | Int(pending[1])
                guard pending.count >= 2 + length else { break }
                lock.withLock { if up { frames.append((now, length)) } else { downFrames.append((now, length)) } }
                pending.removeFirst(2 + length)
            }
        }
        shutdown(to, Int32(SHUT_WR))
    }

    /// Closes everything; the frames recorded each way.
    func stop() -> (up: [(time: Double, length: Int)], down: [(time: Double, length: Int)]) {
        lock.withLock { for s in sockets { shutdown(s, Int32(SHUT_RDWR)) } }
        close(listener)
        return lock.withLock { (frames, downFrames) }
    }
}

/// A listening TCP socket on 127.0.0.1 at an ephemeral port (no port is ever fixed in tests).
func loopbackListener() throws -> (fd: Int32, port: UInt16) {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    var size = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, size) } }
    guard bound == 0, listen(fd, 16) == 0 else { close(fd); throw CocoaError(.fileWriteUnknown) }
    _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &size) } }
    return (fd, UInt16(bigEndian: addr.sin_port))
}

extension Profile {
    /// New profiles in `dir`/NAME, each reading its mailbox at gateway number `gateway` of `net`.
    static func onGateways(_ specs: [(String, Int)], of net: LocalNetwork, in dir: String) throws -> [Profile] {
        try specs.map { name, gateway in
            let p = try Profile.create(directory: dir + "/" + name, passphrase: Array("passphrase for tests".utf8))
            try p.save(ProfileSettings(gateway: net.gateways[gateway].id, createdAt: Clock.wallSeconds()))
            return p
        }
    }
}
