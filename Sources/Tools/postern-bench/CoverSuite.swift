import PosternCover
import PosternCrypto
import PosternPacket

/// Suite `cover`: a simulated day of a client's streams (injected clock, seeded randomness) against a
/// budget that full rates would exceed 2.7-fold, and the CPU cost per scheduled packet.
func coverSuite() -> Suite {
    Suite(name: "cover") {
        func simulatedDay(_ config: CoverConfig, seed: UInt8) -> [(time: Double, stream: CoverStream)] {
            let rng = SeededRandom(seed: [UInt8](repeating: seed, count: 32))
            let start = 20_000.0 * 86_400
            let s = CoverScheduler(config: config, start: start, random: {
                var v: UInt64 = 0
                withUnsafeMutableBytes(of: &v) { rng.fill($0.baseAddress!, count: 8) }
                return v
            }, power: { .mains })
            var events: [(time: Double, stream: CoverStream)] = []
            while s.nextTime < start + 86_400 { events.append(s.take()) }
            return events
        }
        var tight = CoverConfig()
        tight.payloadRate = 1.0; tight.loopRate = 0.2; tight.dropRate = 0.2
        tight.bytesPerDay = 120 << 20
        var steady = CoverConfig()
        steady.bytesPerDay = 10 << 30

        let scheduler = CoverScheduler(config: steady, start: 0, power: { .mains })
        let geometry = Geometry.standard
        let builder = PacketBuilder(geometry: geometry)
        let ring = Keyring(replayCapacity: 16)
        ring.rotate(current: 1)
        let key = ring.key(for: 1)!.publicKey
        let route = (0..<5).map { _ in Bytes32.random() }.map { RouteHop(node: $0, link: NextHop(linkKey: $0), packetKey: key, epoch: 1) }
        let packet = bufferOf(geometry.packetBytes)
        let message = UnsafeRawBufferPointer(start: bufferOf(400, fill: 1), count: 400)

        return [
            .value("budget-error") {
                let events = simulatedDay(tight, seed: 1)
                let bytes = Double(events.count * tight.packetBytes)
                return (abs(bytes - Double(tight.bytesPerDay)) / Double(tight.bytesPerDay), "fraction")
            },
            .value("ks-pvalue") {
                let times = simulatedDay(steady, seed: 2).filter { $0.stream == .payload }.map { $0.time }
                let gaps = zip(times.dropFirst(), times).map { $0 - $1 }
                return (KolmogorovSmirnov.exponential(gaps, rate: steady.payloadRate).p, "p")
            },
            .timed("schedule") { n in for _ in 0..<n { _ = scheduler.take() } },
            // What a client pays per scheduled packet: the scheduling step and building a 5-hop packet.
            .timed("per-packet", baseline: "x25519") { n in
                for _ in 0..<n {
                    _ = scheduler.take()
                    try? builder.build(route: route, to: .mailbox(.zero), message: message, into: packet)
                }
            },
        ]
    }
}
