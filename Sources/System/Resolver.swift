import CSystem

/// Host names → numeric addresses without stalling the event loop: `getaddrinfo` (which may wait
/// seconds for DNS) runs on a detached thread of the C seam, and the loop watches a pipe for the answer.
/// Numeric hosts answer at once. A name with IPv4 and IPv6 addresses gives the IPv4 one.
public enum Resolver {
    public static func isNumeric(_ host: String) -> Bool { host.withCString { psys_is_numeric_host($0) } == 1 }

    /// Calls `done` (on the loop) with the numeric address, or nil and the resolver's error text.
    public static func resolve(_ host: String, on loop: EventLoop, _ done: @escaping (_ numeric: String?, _ error: String) -> Void) {
        if isNumeric(host) { done(host, ""); return }
        var resolution: OpaquePointer?
        let fd = host.withCString { psys_resolve_start($0, &resolution) }
        guard fd >= 0, let resolution else { done(nil, SystemError(fd, "resolve").description); return }
        let pipe = FileDescriptor(fd)
        do {
            try loop.watch(pipe, events: EventLoop.readable) { _ in
                loop.unwatch(pipe)
                pipe.close()
                var text = [CChar](repeating: 0, count: 256)
                let rc = psys_resolve_finish(resolution, &text, 256)
                let answer = String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                if rc == 0 { done(answer, "") } else { done(nil, "cannot resolve \(host): \(answer)") }
            }
        } catch {
            // The thread still answers into the pipe; without a watch nobody collects it: wait for it here.
            var text = [CChar](repeating: 0, count: 256)
            var one: UInt8 = 0
            while psys_read(fd, &one, 1) == -Int64(SystemError.EAGAIN) { Clock.sleep(nanoseconds: 1_000_000) }
            _ = psys_resolve_finish(resolution, &text, 256)
            pipe.close()
            done(nil, "cannot watch the resolver: \(error.description)")
        }
    }
}

extension TCP {
    /// Connects to "host:port" where host may be a name (resolved off the loop, anew at every call).
    /// `done` gets the connecting socket, or nil and why not.
    public static func connect(_ address: String, on loop: EventLoop, _ done: @escaping (_ fd: FileDescriptor?, _ error: String) -> Void) {
        guard let (host, port) = parse(address) else { done(nil, "bad address '\(address)' (expected host:port)"); return }
        Resolver.resolve(host, on: loop) { numeric, error in
            guard let numeric else { done(nil, error); return }
            let fd: FileDescriptor
            do throws(SystemError) { fd = try connect(numeric, port) } catch {
                done(nil, "\(address): \(error.description)")
                return
            }
            done(fd, "")
        }
    }
}
