import PosternStore

/// Mailbox store failures, each with a one-line explanation for the operator.
public enum MailboxError: Error, Equatable, CustomStringConvertible {
    /// The record store under the mailbox failed (directory, lock, LMDB, a full map or disk).
    case store(StoreError)
    /// The blob is larger than `maxMessageBytes`.
    case messageTooLarge
    /// This address already holds `maxPerAddress` messages.
    case addressFull

    public var description: String {
        switch self {
        case .store(let error): "mailbox \(error.description)"
        case .messageTooLarge: "message is larger than the mailbox accepts"
        case .addressFull: "mailbox address holds the maximum number of messages"
        }
    }
}
