import CLMDB
import PosternCrypto
import PosternSystem

/// Top-level command dispatch. Subcommands live one per file; each returns a process exit status.
enum PosternCommand {
    static let version = Build.version

    static let usage = """
    usage: postern [--help] [--version] [--profile DIR] [--config FILE] [--passphrase-file FILE] <command> [options]

    for people:
      profile      new | show | set: your encrypted profile (keys, contacts, messages)
      contact      new [NAME] | add NAME BUNDLE | list | remove NAME: contacts, with QR codes
      send         NAME TEXT…: a message through the mixnet; reports its delivery
      inbox        [--watch] [--json]: fetch and show new messages
      outbox       messages waiting for delivery
      usage        [--json]: bytes to and from your gateway today and this month, by category
      testnet      --dir DIR: a local mixnet to try these on (writes DIR/client.toml)

    for operators and developers:
      demo         run a local mixnet (3 mix layers, 2 gateways) and two people messaging through it
      node         keygen | info | run: operate a relay or gateway (see 'postern node')
      top          a running node, live, from its metrics endpoint (q quits)
      simulate     gossip | anonymity: partial views for thousands of simulated nodes; sender
                   entropy and latency of the latency modes (docs/ANONYMITY.md)
      network      keygen | certify: the network key and membership certificates (certified networks)
      chat         identity new|restore, post, read: public-chat messages and anonymous posting
      keys         derive --seed HEX --path PATH [--private]: BIP32 keys for tooling
      selftest     check the cryptography on this machine against published test vectors
                   and the SIMD ChaCha20 against libsodium; non-zero exit on any failure

    Profile: --profile, $POSTERN_PROFILE or $XDG_DATA_HOME/postern/profile. Network: --config,
    $POSTERN_CONFIG or $XDG_CONFIG_HOME/postern/client.toml. Passphrase: --passphrase-file,
    $POSTERN_PASSPHRASE_FILE, $POSTERN_PASSPHRASE, else asked for on the terminal.

    Postern is a mix-network relay and personal mailbox for small ARM Linux boards.
    """

    static func main() { Process.exit(run(Array(Process.arguments.dropFirst()))) }

    static func run(_ arguments: [String]) -> Int32 {
        var args = arguments
        // Client options given before the command.
        while let first = args.first, ClientContext.optionNames.contains(first) {
            guard args.count >= 2 else {
                Terminal.error("postern: \(first) needs a value")
                return 2
            }
            ClientContext.globals[first] = args[1]
            args.removeFirst(2)
        }
        guard let command = args.first else {
            Terminal.error(usage)
            return 2
        }
        args.removeFirst()
        let status: Int32
        switch command {
        case "--help", "-h", "help":
            // 'postern help CMD [SUB]' is 'postern CMD [SUB] --help'.
            if command == "help", let topic = args.first { return run([topic] + args.dropFirst() + ["--help"]) }
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
        case "network":
            status = NodeCommand.network(args)
        case "chat":
            status = ChatCommand.chat(args)
        case "keys":
            status = ChatCommand.keys(args)
        case "profile":
            status = ContactCommand.profile(args)
        case "contact":
            status = ContactCommand.contact(args)
        case "send":
            status = MessageCommand.send(args)
        case "inbox":
            status = MessageCommand.inbox(args)
        case "outbox":
            status = MessageCommand.outbox(args)
        case "usage":
            status = UsageCommand.run(args)
        case "testnet":
            status = TestnetCommand.run(args)
        case "top":
            status = TopCommand.run(args)
        case "simulate":
            status = SimulateCommand.run(args)
        default:
            let what = command.hasPrefix("-") ? "option" : "command"
            Terminal.error("postern: unknown \(what) '\(command)' (try 'postern --help')")
            status = 2
        }
        return status
    }
}
