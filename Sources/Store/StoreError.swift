import PosternSystem

/// Record-store failures (LMDB under the mailbox and the profile), each with a one-line explanation.
public enum StoreError: Error, Equatable, CustomStringConvertible {
    /// The data directory cannot be created, read or written.
    case directory(path: String, SystemError)
    /// Another process has the store open.
    case inUse(path: String)
    /// The files are not an LMDB environment this version understands, or are damaged.
    case corrupt(path: String, detail: String)
    /// The memory map (the store's configured maximum size) is full: the write was refused and nothing
    /// stored was touched.
    case storeFull
    /// The disk itself is full.
    case diskFull
    /// Any other LMDB error (code and text).
    case lmdb(code: Int32, detail: String)

    public var description: String {
        switch self {
        case .directory(let path, let error): "store directory \(path): \(error.description)"
        case .inUse(let path): "store \(path) is in use by another process"
        case .corrupt(let path, let detail): "store \(path) is damaged or not a Postern store (\(detail))"
        case .storeFull: "store is full (map size reached)"
        case .diskFull: "disk is full"
        case .lmdb(let code, let detail): "LMDB error \(code): \(detail)"
        }
    }
}
