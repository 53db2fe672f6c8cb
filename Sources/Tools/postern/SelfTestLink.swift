import PosternCrypto
import PosternLink

/// Link checks: the Noise XK handshake (node links) and NK (clients) in memory, with a transport round trip.
extension SelfTest {
    static func linkChecks() -> [Check] {
        [("noise: XK and NK handshakes and transport", noiseHandshakes)]
    }

    static func noiseHandshakes() -> String? {
        for pattern in [NoisePattern.XK, .NK] {
            let server = Random.bytes(32), client = Random.bytes(32)
            let serverPublic = X25519.publicKey(of: SecretKey(copying: server))
            guard let i = try? NoiseHandshake(pattern: pattern, initiator: true, prologue: [1], staticKey: pattern == .XK ? client : nil,
                                              remoteStatic: serverPublic),
                  let r = try? NoiseHandshake(pattern: pattern, initiator: false, prologue: [1], staticKey: server)
            else { return "\(pattern.name): setup failed" }
            var turn = 0
            while !i.isComplete {
                let (w, rd) = turn % 2 == 0 ? (i, r) : (r, i)
                do {
                    let m = try w.writeMessage([UInt8(turn)])
                    guard try rd.readMessage(m) == [UInt8(turn)] else { return "\(pattern.name): payload \(turn) differs" }
                } catch {
                    return "\(pattern.name) message \(turn): \(error.description)"
                }
                turn += 1
            }
            guard r.isComplete, i.handshakeHash == r.handshakeHash else { return "\(pattern.name): hashes differ" }
        }
        return nil
    }
}
