import PosternCover
import PosternCrypto
import PosternSystem

/// The Loopix streams for one conversation (`Messenger`): a `ClientCover` whose payload slots carry the
/// messenger's queued messages. Real and cover packets are built and submitted the same way, at times
/// that do not depend on whether a real message was waiting, so the send pattern says nothing about when
/// the user writes. (Profile-based clients use `ClientCover` directly, with the outbox.)
public final class CoverDriver {
    public let cover: ClientCover
    public var scheduler: CoverScheduler { cover.scheduler }
    public var loops: LoopMonitor { cover.loops }
    public var sent: (real: Int, payloadDummies: Int, loops: Int, drops: Int) {
        let s = cover.sent
        return (s.real, s.dummies, s.loops, s.drops)
    }

    public init(messenger: Messenger, config: CoverConfig, loop: EventLoop) {
        cover = ClientCover(courier: messenger.courier, client: messenger.client, config: config, loop: loop)
        cover.pollSeconds = 0.25
        cover.sendReal = { [messenger] in
            guard !messenger.queue.isEmpty else { return false }
            messenger.send(messenger.queue.removeFirst())
            return true
        }
    }

    public func start() { cover.start() }

    public func stop() { cover.stop() }
}
