import CSystem

/// An open file descriptor (socket, file, epoll instance): a typed wrapper over the seam's `Int32`, so a
/// descriptor cannot be mixed up with a count, an index or a port.
public struct FileDescriptor: Hashable, Sendable, CustomStringConvertible {
    public let rawValue: Int32

    public init(_ rawValue: Int32) { self.rawValue = rawValue }

    public static let standardInput = FileDescriptor(0)

    /// Closes the descriptor (errors are ignored: there is nothing left to do with it).
    public func close() { _ = psys_close(rawValue) }

    public var description: String { "fd \(rawValue)" }
}
