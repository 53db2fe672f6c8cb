import PosternSystem

/// Reading a node's metrics endpoint from outside it (`postern top`, the process benchmark): one HTTP/1.0
/// GET of /metrics and the Prometheus text page's sample lines.
public enum MetricsScrape {
    /// One scrape: the sample lines, name with labels → value.
    public typealias Sample = [String: Double]

    /// GET /metrics on the node's endpoint (HTTP/1.0: it answers and closes); nil after 3 s without one.
    public static func fetch(_ loop: EventLoop, _ host: String, _ port: UInt16) -> Sample? {
        guard let fd = try? TCP.connect(host, port) else { return nil }
        defer { loop.unwatch(fd); fd.close() }
        let request = Array("GET /metrics HTTP/1.0\r\nHost: \(host)\r\n\r\n".utf8)
        var sent = 0, received: [UInt8] = [], done = false, failed = false
        var buffer = [UInt8](repeating: 0, count: 16_384)
        do {
            try loop.watch(fd, events: EventLoop.writable | EventLoop.readable) { _ in
                if sent < request.count {
                    guard TCP.connectError(fd) == 0 else { failed = true; return }
                    let n = request.withUnsafeBytes { (try? TCP.write(fd, $0.baseAddress! + sent, request.count - sent)) ?? -1 }
                    if n < 0 { failed = true; return }
                    sent += n
                    if sent == request.count { loop.modify(fd, events: EventLoop.readable) }
                    return
                }
                while true {
                    let n: Int?
                    // (A reset after the page, the endpoint closing with our request's tail unread, ends it too.)
                    do throws(SystemError) { n = try withMutableBytes(&buffer) { (b) throws(SystemError) in try TCP.read(fd, b.baseAddress!, b.count) } } catch {
                        if received.isEmpty { failed = true } else { done = true }
                        return
                    }
                    guard let n else { return }
                    if n == 0 { done = true; return }
                    received += buffer[0..<n]
                    if received.count > 4 << 20 { failed = true; return }
                }
            }
        } catch { return nil }
        loop.run(until: EventLoop.now() &+ 3_000_000_000, stopWhen: { done || failed })
        guard done else { return nil }
        return parse(received)
    }

    /// The sample lines of a Prometheus text page (after the HTTP head), name{labels} → value.
    public static func parse(_ bytes: [UInt8]) -> Sample? {
        // The HTTP head ends at the first empty line. Split as bytes: "\r\n" is one Character.
        var out: Sample = [:]
        var inBody = false
        for rawLine in bytes.split(separator: 10, omittingEmptySubsequences: false) {
            let line = Substring(String(decoding: rawLine.last == 13 ? rawLine.dropLast() : rawLine, as: UTF8.self))
            if !inBody { inBody = line.isEmpty; continue }
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let space = line.lastIndex(of: " "), let value = Format.decimal(line[line.index(after: space)...]) else { continue }
            out[String(line[..<space])] = value
        }
        return out.isEmpty ? nil : out
    }
}
