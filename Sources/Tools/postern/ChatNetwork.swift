import PosternChat
import PosternClient
import PosternCrypto
import PosternNetwork
import PosternNode
import PosternSystem

/// `chat post … --config FILE` and `chat read --chat NAME --config FILE`: public chats over a live
/// mixnet. Posting needs no profile: the post enters through a random gateway of the map (it is
/// anonymous or signed by itself) and goes to the chat's gateway for the current 10-minute bucket; the
/// device-sync note goes to the seed's sync chain. Reading fetches this bucket and the previous one, and
/// the sync notes first, so this device recognises posts made anonymously from another device.
enum ChatNetwork {
    static func client(_ configPath: String) -> (PublicChatClient, EventLoop)? {
        let ctx = ClientContext(["--config": configPath])
        guard let config = ctx.config() else { return nil }
        let loop: EventLoop
        do { loop = try EventLoop() } catch { _ = CLI.fail("event loop: \(error.description)"); return nil }
        guard let network = ctx.network(config, profile: nil, loop: loop) else { return nil }
        let gateways = network.topology.gateways
        guard !gateways.isEmpty else { _ = CLI.fail("the network has no gateways this epoch"); return nil }
        let entry = GatewayClient(loop: loop, gateway: gateways[Int(Random.uniform(UInt32(gateways.count)))])
        return (PublicChatClient(network: network, entry: entry, loop: loop), loop)
    }

    static func post(_ post: (bytes: [UInt8], id: [UInt8], syncNote: [UInt8]?), chat: String, identity: ChatIdentity,
                     config: String) -> Int32 {
        guard let (client, loop) = client(config) else { return 1 }
        defer { client.close() }
        var results: [Bool] = []
        client.post(post.bytes, chat: chat, bucket: PublicChat.bucket(at: Clock.wallSeconds())) { results.append($0) }
        if let note = post.syncNote { client.deposit(note, at: identity.syncAddresses(1)[0]) { results.append($0) } }
        let expected = post.syncNote == nil ? 1 : 2
        _ = ClientContext.run(loop, seconds: 30) { results.count == expected }
        guard results.count == expected, results.allSatisfy({ $0 }) else {
            return CLI.fail("the post was not accepted by the entry gateway (unreachable or refused)")
        }
        Terminal.line("posted to #\(chat); message id \(Hex.encode(post.id))")
        return 0
    }

    static func read(chat: String, identity: ChatIdentity, config: String) -> [[UInt8]]? {
        guard let (client, loop) = client(config) else { return nil }
        defer { client.close() }
        var notes: [[UInt8]]?, current: [[UInt8]]?, previous: [[UInt8]]?
        let bucket = PublicChat.bucket(at: Clock.wallSeconds())
        client.read(identity.syncAddresses(1)[0]) { notes = $0 }
        client.read(PublicChat.address(chat: chat, bucket: bucket - 1)) { previous = $0 }
        client.read(PublicChat.address(chat: chat, bucket: bucket)) { current = $0 }
        _ = ClientContext.run(loop, seconds: 30) { notes != nil && current != nil && previous != nil }
        guard let notes, let current, let previous else { _ = CLI.fail("the chat's gateway did not answer"); return nil }
        for note in notes { identity.learn(syncNote: note) }
        return previous + current
    }
}
