import PosternSystem

/// Mailbox store failures, each with a one-line explanation for the operator.
public enum MailboxError: Error, Equatable {
    /// The data directory cannot be created, read or written.
    case directory(path: String, SystemError)
    /// Another process has the store open.
    case inUse(path: String)
    /// The files are not an LMDB environment this version understands, or are damaged.
    case corrupt(path: String, detail: String)
    /// The memory map (the store's configured maximum size) is full: the deposit was refused and
    /// nothing stored was touched.
    case storeFull
    /// The disk itself is full.
    case diskFull
    /// The blob is larger than `maxMessageBytes`.
    case messageTooLarge
    /// This address already holds `maxPerAddress` messages.
    case addressFull
    /// Any other LMDB error (code and text).
    case lmdb(code: Int32, detail: String)

    public var description: String {
        switch self {
        case .directory(let path, let error): "mailbox directory \(path): \(error.message)"
        case .inUse(let path): "mailbox store \(path) is in use by another process"
        case .corrupt(let path, let detail): "mailbox store \(path) is damaged or not a Postern store (\(detail))"
        case .storeFull: "mailbox store is full (map size reached); deposit refused"
        case .diskFull: "disk is full; deposit refused"
        case .messageTooLarge: "message is larger than the mailbox accepts"
        case .addressFull: "mailbox address holds the maximum number of messages"
        case .lmdb(let code, let detail): "LMDB error \(code): \(detail)"
        }
    }
}
