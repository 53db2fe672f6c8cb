import PosternSystem

/// Accepting on a listening socket, shared by the link and client listeners: everything pending is
/// accepted; when the process is out of file descriptors (EMFILE/ENFILE) the listener is paused for
/// 100 ms instead, since a readable listener that cannot be drained would spin the loop at 100% CPU.
struct Acceptor {
    static let pause: UInt64 = 100_000_000

    /// Accepts all pending connections into `take`; false when it paused the listener (`resume` is
    /// then called after the pause, to watch it again).
    @discardableResult
    static func drain(_ listener: FileDescriptor, loop: EventLoop, counters: NodeCounters, resume: @escaping () -> Void,
                      take: (FileDescriptor) -> Void) -> Bool {
        while true {
            let fd: FileDescriptor?
            do { fd = try TCP.accept(listener) } catch {
                if error.errno == 24 || error.errno == 23 {   // EMFILE, ENFILE
                    counters.stats.acceptPauses += 1
                    loop.unwatch(listener)
                    loop.after(pause) { resume() }
                    return false
                }
                return true   // ECONNABORTED and the like: that one connection is gone; the rest later
            }
            guard let fd else { return true }
            take(fd)
        }
    }
}
