import PosternSystem

/// Accepting on a listening socket, shared by the link and client listeners: everything pending is
/// accepted; when the process is out of file descriptors (EMFILE/ENFILE) the listener is paused for
/// 100 ms instead, since a readable listener that cannot be drained would spin the loop at 100% CPU.
enum Acceptor {
    static let pause: UInt64 = 100_000_000

    /// Accepts all pending connections into `take`; out of descriptors, it unwatches the listener and
    /// calls `resume` after the pause to watch it again.
    static func drain(_ listener: FileDescriptor, loop: EventLoop, counters: NodeCounters, resume: @escaping () -> Void,
                      take: (FileDescriptor) -> Void) {
        while true {
            let fd: FileDescriptor?
            do { fd = try TCP.accept(listener) } catch {
                if error.errno == SystemError.EMFILE || error.errno == SystemError.ENFILE {
                    counters.stats.acceptPauses += 1
                    loop.unwatch(listener)
                    loop.after(pause) { resume() }
                    return
                }
                return   // ECONNABORTED and the like: that one connection is gone; the rest later
            }
            guard let fd else { return }
            take(fd)
        }
    }
}
