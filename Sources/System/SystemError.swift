import CSystem

/// A failed libc call: the errno value and the operation that produced it.
///
/// The seam returns `-errno`; wrappers turn that into this typed error so callers can use typed throws
/// (`throws(SystemError)`), which is all Embedded Swift allows.
public struct SystemError: Error, Equatable, CustomStringConvertible {
    public let errno: Int32
    public let operation: StaticString

    public init(_ errno: Int32, _ operation: StaticString) {
        self.errno = errno < 0 ? -errno : errno
        self.operation = operation
    }

    /// One line for a person: `open: No such file or directory`.
    public var description: String {
        "\(operation): \(String(cString: psys_strerror(errno)))"
    }

    public static func == (a: SystemError, b: SystemError) -> Bool { a.errno == b.errno }

    // Common errno values, named so callers need no libc headers.
    public static let ENOENT: Int32 = 2
    public static let EINTR: Int32 = 4
    public static let EACCES: Int32 = 13
    public static let EEXIST: Int32 = 17
    public static let EAGAIN: Int32 = 11
    public static let EINPROGRESS: Int32 = 115
    public static let ENOSPC: Int32 = 28
    public static let ENFILE: Int32 = 23
    public static let EMFILE: Int32 = 24
}

/// Converts a seam return value (>= 0 or -errno) into a value or a thrown `SystemError`.
@inlinable
public func check<T: BinaryInteger>(_ result: T, _ operation: StaticString) throws(SystemError) -> T {
    if result < 0 { throw SystemError(Int32(truncatingIfNeeded: result), operation) }
    return result
}
