import Foundation
import PosternCrypto
@testable import PosternLink
import Testing

/// Every vector in noise.json (cacophony): NN, XK, IK, XX and XKpsk3 over 25519/ChaChaPoly/BLAKE2b.
/// Both sides run with the vector's fixed ephemeral keys; every handshake and transport message must
/// equal the published ciphertext, and the handshake hash must match.
@Suite struct NoiseVectorTests {
    static func vectors() throws -> [[String: Any]] {
        let url = try #require(Bundle.module.url(forResource: "noise", withExtension: "json", subdirectory: "Vectors"))
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any]
        return try #require(object?["vectors"] as? [[String: Any]])
    }

    static func hex(_ v: [String: Any], _ key: String) -> [UInt8]? {
        (v[key] as? String).flatMap { Hex.decode($0) }
    }

    @Test func allVectors() throws {
        let vectors = try Self.vectors()
        #expect(vectors.count == 5)
        var names: [String] = []
        for v in vectors {
            let name = try #require(v["protocol_name"] as? String)
            names.append(name)
            let patternName = name.split(separator: "_")[1]
            let pattern = try #require(NoisePattern(name: String(patternName)))
            let initPSK = (v["init_psks"] as? [String])?.first.flatMap { Hex.decode($0) }
            let respPSK = (v["resp_psks"] as? [String])?.first.flatMap { Hex.decode($0) }
            let initiator = try NoiseHandshake(pattern: pattern, initiator: true, prologue: Self.hex(v, "init_prologue") ?? [],
                                               staticKey: Self.hex(v, "init_static"), remoteStatic: Self.hex(v, "init_remote_static"),
                                               psk: initPSK, fixedEphemeral: Self.hex(v, "init_ephemeral"))
            let responder = try NoiseHandshake(pattern: pattern, initiator: false, prologue: Self.hex(v, "resp_prologue") ?? [],
                                               staticKey: Self.hex(v, "resp_static"), remoteStatic: Self.hex(v, "resp_remote_static"),
                                               psk: respPSK, fixedEphemeral: Self.hex(v, "resp_ephemeral"))
            let messages = try #require(v["messages"] as? [[String: String]])
            var initTransport: NoiseTransport?, respTransport: NoiseTransport?
            for (i, m) in messages.enumerated() {
                let payload = try #require(Hex.decode(m["payload"]!)), expected = try #require(Hex.decode(m["ciphertext"]!))
                let fromInitiator = i % 2 == 0
                if !initiator.isComplete {
                    let (writer, reader) = fromInitiator ? (initiator, responder) : (responder, initiator)
                    let written = try writer.writeMessage(payload)
                    #expect(written == expected, "\(name) handshake message \(i)")
                    #expect(try reader.readMessage(written) == payload)
                    if initiator.isComplete {
                        #expect(responder.isComplete)
                        #expect(initiator.handshakeHash == Self.hex(v, "handshake_hash"), "\(name) handshake hash")
                        initTransport = try initiator.split()
                        respTransport = try responder.split()
                    }
                } else {
                    let written = fromInitiator ? initTransport!.send.encrypt(ad: [], payload) : respTransport!.send.encrypt(ad: [], payload)
                    #expect(written == expected, "\(name) transport message \(i)")
                    let read = fromInitiator ? try respTransport!.receive.decrypt(ad: [], written)
                                             : try initTransport!.receive.decrypt(ad: [], written)
                    #expect(read == payload)
                }
            }
        }
        #expect(names.contains("Noise_XK_25519_ChaChaPoly_BLAKE2b") && names.contains("Noise_XKpsk3_25519_ChaChaPoly_BLAKE2b"))
    }

    @Test func nkHandshakeAndWrongKeyRejected() throws {
        let server = Random.bytes(32)
        let serverPublic = NoiseHandshake.publicKey(server)
        let client = try NoiseHandshake(pattern: .NK, initiator: true, prologue: Array("postern/client/1".utf8), remoteStatic: serverPublic)
        let responder = try NoiseHandshake(pattern: .NK, initiator: false, prologue: Array("postern/client/1".utf8), staticKey: server)
        _ = try responder.readMessage(try client.writeMessage())
        _ = try client.readMessage(try responder.writeMessage())
        var a = try client.split(), b = try responder.split()
        #expect(try b.receive.decrypt(ad: [], a.send.encrypt(ad: [], [1, 2, 3])) == [1, 2, 3])
        // A client that expects another server key fails at the first message.
        let wrong = try NoiseHandshake(pattern: .NK, initiator: true, prologue: Array("postern/client/1".utf8),
                                       remoteStatic: NoiseHandshake.publicKey(Random.bytes(32)))
        let responder2 = try NoiseHandshake(pattern: .NK, initiator: false, prologue: Array("postern/client/1".utf8), staticKey: server)
        #expect(throws: LinkError.self) { try responder2.readMessage(try wrong.writeMessage()) }
    }
}
