import CLMDB
import PosternCrypto
import PosternSystem

/// Top-level command dispatch. Subcommands live one per file; each returns a process exit status.
enum PosternCommand {
    static let version = "0.1.0"

    static let usage = """
    usage: postern [--help] [--version] <command> [options]

    commands:
      demo         run a local mixnet (3 mix layers, 2 gateways) and two people messaging through it
      node         keygen | info | run: operate a relay or gateway (see 'postern node')
      topology     keygen | sign: the directory's signed network map
      chat         identity new|restore, post, read: public-chat messages and anonymous posting
      keys         derive --seed HEX --path PATH [--private]: BIP32 keys for tooling
      selftest     check the cryptography on this machine against published test vectors
                   and the SIMD ChaCha20 against libsodium; non-zero exit on any failure

    Postern is a mix-network relay and personal mailbox for small ARM Linux boards.
    """

    static func main() {
        var args = Array(Process.arguments.dropFirst())
        guard let command = args.first else {
            Terminal.error(usage)
            Process.exit(2)
        }
        args.removeFirst()
        let status: Int32
        switch command {
        case "--help", "-h", "help":
            Terminal.line(usage)
            status = 0
        case "--version", "version":
            Terminal.line("postern \(version)")
            var major: Int32 = 0, minor: Int32 = 0, patch: Int32 = 0
            _ = mdb_version(&major, &minor, &patch)
            Terminal.line("libsodium \(Sodium.version), LMDB \(major).\(minor).\(patch)")
            status = 0
        case "selftest":
            status = SelfTest.run(args)
        case "demo":
            status = Demo.run(args)
        case "node":
            status = NodeCommand.node(args)
        case "topology":
            status = NodeCommand.topology(args)
        case "chat":
            status = ChatCommand.chat(args)
        case "keys":
            status = ChatCommand.keys(args)
        default:
            Terminal.error("postern: unknown command '\(command)' (try 'postern --help')")
            status = 2
        }
        Process.exit(status)
    }
}
