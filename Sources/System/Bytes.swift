/// Typed-throws access to an array's bytes.
///
/// `Array.withUnsafeBytes` is `rethrows`, which erases a typed error to `any Error`; Embedded Swift allows
/// only typed throws, so code that throws from inside the closure goes through these instead.
@inlinable
public func withBytes<R, E: Error>(_ array: [UInt8], _ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
    try array.withUnsafeBytes { p in Result { () throws(E) -> R in try body(p) } }.get()
}

@inlinable
public func withMutableBytes<R, E: Error>(_ array: inout [UInt8],
                                          _ body: (UnsafeMutableRawBufferPointer) throws(E) -> R) throws(E) -> R {
    try array.withUnsafeMutableBytes { p in Result { () throws(E) -> R in try body(p) } }.get()
}
