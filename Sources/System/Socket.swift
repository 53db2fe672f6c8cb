import CSystem

/// Non-blocking TCP endpoints: typed wrappers over the seam's socket calls.
public enum TCP {
    /// Parses "host:port" (IPv4 literal, or [IPv6]:port).
    public static func parse(_ endpoint: String) -> (host: String, port: UInt16)? {
        var text = Substring(endpoint)
        var host: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            host = text[text.index(after: text.startIndex)..<close]
            text = text[text.index(after: close)...]
            guard text.hasPrefix(":") else { return nil }
            text = text.dropFirst()
        } else {
            guard let colon = text.lastIndex(of: ":") else { return nil }
            host = text[..<colon]
            text = text[text.index(after: colon)...]
        }
        guard !host.isEmpty, let port = UInt16(text) else { return nil }
        return (String(host), port)
    }

    /// A non-blocking listening socket (SO_REUSEADDR); port 0 lets the kernel choose (`localPort`).
    public static func listen(_ host: String, _ port: UInt16) throws(SystemError) -> FileDescriptor {
        FileDescriptor(try check(host.withCString { psys_tcp_listen($0, port, 128) }, "listen"))
    }

    /// A non-blocking connect in progress (`connectError` once the socket is writable).
    public static func connect(_ host: String, _ port: UInt16) throws(SystemError) -> FileDescriptor {
        FileDescriptor(try check(host.withCString { psys_tcp_connect($0, port) }, "connect"))
    }

    /// nil when no connection is pending.
    public static func accept(_ listener: FileDescriptor) throws(SystemError) -> FileDescriptor? {
        let fd = psys_tcp_accept(listener.rawValue)
        if fd == -SystemError.EAGAIN { return nil }
        return FileDescriptor(try check(fd, "accept"))
    }

    public static func localPort(_ fd: FileDescriptor) -> UInt16 { UInt16(truncatingIfNeeded: psys_local_port(fd.rawValue)) }
    public static func connectError(_ fd: FileDescriptor) -> Int32 { -psys_socket_error(fd.rawValue) }

    /// Reads what is available into `buffer`; 0 = orderly close, nil = would block.
    public static func read(_ fd: FileDescriptor, _ buffer: UnsafeMutableRawPointer, _ count: Int) throws(SystemError) -> Int? {
        let n = psys_read(fd.rawValue, buffer, count)
        if n == -Int64(SystemError.EAGAIN) { return nil }
        return Int(try check(n, "read"))
    }

    /// Writes what the socket accepts; returns the bytes written (0 when it would block).
    public static func write(_ fd: FileDescriptor, _ buffer: UnsafeRawPointer, _ count: Int) throws(SystemError) -> Int {
        let n = psys_socket_send(fd.rawValue, buffer, count)
        if n == -Int64(SystemError.EAGAIN) { return 0 }
        return Int(try check(n, "send"))
    }

    public static func close(_ fd: FileDescriptor) { fd.close() }

    /// Two connected non-blocking local stream sockets: what a TCP connection looks like to the code
    /// that reads and writes it, without a port (the fuzzer feeds a `Connection` through one).
    public static func pair() throws(SystemError) -> (FileDescriptor, FileDescriptor) {
        var fds: (Int32, Int32) = (-1, -1)
        let r = withUnsafeMutableBytes(of: &fds) { psys_stream_pair($0.baseAddress!.assumingMemoryBound(to: Int32.self)) }
        _ = try check(r, "socketpair")
        return (FileDescriptor(fds.0), FileDescriptor(fds.1))
    }
}
