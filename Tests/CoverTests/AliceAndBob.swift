import Foundation
import PosternClient
import PosternLocalNetwork
import PosternNetwork
import PosternNode
import PosternSystem
import Testing

/// A loopback network (3 mix layers, `mixes` mixes, 2 gateways; `configure` sets every node's options)
/// and two profiles that know each other: alice on the first gateway, with her view of the network, bob
/// on the second; everything removed at the end.
final class AliceAndBob {
    let dir = NSTemporaryDirectory() + "postern-alice-bob-" + UUID().uuidString
    let net: LocalNetwork
    let profiles: [Profile]
    let network: ClientNetwork

    init(mixes: Int? = nil, configure: (inout NodeOptions) -> Void = { _ in }) throws {
        net = try LocalNetwork(layers: 3, mixes: mixes, gateways: 2, dataDirectory: dir + "/net", configure: configure)
        try net.start()
        profiles = try Profile.onGateways([("alice", 0), ("bob", 1)], of: net, in: dir)
        try profiles[0].meet(profiles[1], calling: "bob", calledBy: "alice", now: Clock.wallSeconds())
        network = ClientNetwork(parameters: net.parameters, bootstrap: net.gatewayPeer(0))
        #expect(network.refreshNow(loop: net.loop, seconds: 20) == 0)
    }

    /// Both people's sessions (5 ms mean delay per hop), bob's with his own view from his gateway. The
    /// caller closes them.
    func sessions() throws -> (alice: Session, bob: Session) {
        let bobs = ClientNetwork(parameters: net.parameters, bootstrap: net.gatewayPeer(1))
        #expect(bobs.refreshNow(loop: net.loop, seconds: 20) == 0)
        return (try Session(profile: profiles[0], network: network, loop: net.loop, meanDelayMicros: 5_000),
                try Session(profile: profiles[1], network: bobs, loop: net.loop, meanDelayMicros: 5_000))
    }

    deinit {
        net.stop()
        try? FileManager.default.removeItem(atPath: dir)
    }
}
