import PosternCrypto
import PosternMailbox
import PosternSystem

/// postern-crashtest: durability check for the mailbox store, for the test suite and for boards.
///
///   postern-crashtest DIR [--batch N] [--start K]    deposit deterministic messages forever, printing
///                                                    "ack K ID" for message K only after its batch is on disk
///   postern-crashtest DIR --verify K1 K2 …           exit 0 iff every listed message is present and intact
///
/// Kill the first form at any moment (kill -9, power cut); every message it printed must survive.
func crashTestMain() -> Int32 {
    var args = Array(Process.arguments.dropFirst())
    guard let directory = args.first, !directory.hasPrefix("-") else {
        Terminal.error("usage: postern-crashtest DIR [--batch N] [--start K] | DIR --verify K...")
        return 2
    }
    args.removeFirst()
    var batch = 8, start = 0
    if args.first == "--verify" { return verify(directory, Array(args.dropFirst())) }
    while let flag = args.first {
        args.removeFirst()
        guard let value = args.first.flatMap({ Int($0) }), value >= 0 else {
            Terminal.error("postern-crashtest: \(flag) needs a number")
            return 2
        }
        args.removeFirst()
        switch flag {
        case "--batch": batch = max(1, value)
        case "--start": start = value
        default:
            Terminal.error("postern-crashtest: unknown option \(flag)")
            return 2
        }
    }
    let store: MailboxStore
    do { store = try MailboxStore(directory: directory) } catch {
        Terminal.error("postern-crashtest: \(error.description)")
        return 1
    }
    var k = start
    while true {
        var receipts: [(Int, UInt64)] = []
        for _ in 0..<batch {
            do {
                let receipt = try store.deposit(address: CrashTestMessage.address(k), blob: CrashTestMessage.blob(k))
                receipts.append((k, receipt.id))
            } catch {
                Terminal.error("postern-crashtest: deposit \(k): \(error.description)")
                return 1
            }
            k += 1
        }
        do { try store.flush() } catch {
            Terminal.error("postern-crashtest: flush: \(error.description)")
            return 1
        }
        for (n, id) in receipts { Terminal.line("ack \(n) \(id)") }
        Terminal.flush()
    }
}

func verify(_ directory: String, _ list: [String]) -> Int32 {
    let store: MailboxStore
    do { store = try MailboxStore(directory: directory) } catch {
        Terminal.error("postern-crashtest: \(error.description)")
        return 1
    }
    var missing = 0
    for text in list {
        guard let k = Int(text) else { continue }
        let found = (try? store.fetch(address: CrashTestMessage.address(k), limit: 1000)) ?? []
        if !found.contains(where: { $0.blob == CrashTestMessage.blob(k) }) {
            Terminal.line("missing \(k)")
            missing += 1
        }
    }
    Terminal.line(missing == 0 ? "all \(list.count) acknowledged messages present" : "\(missing) acknowledged messages MISSING")
    return missing == 0 ? 0 : 1
}

/// Message k: three messages per address; 40…1000 bytes whose content depends on k.
enum CrashTestMessage {
    static func address(_ k: Int) -> Bytes32 {
        Bytes32(BLAKE2b.hash(Array("postern-crashtest \(k / 3)".utf8), outputCount: 32))!
    }

    static func blob(_ k: Int) -> [UInt8] {
        let seed = BLAKE2b.hash(Array("blob \(k)".utf8), outputCount: 64)
        let length = 40 + (k * 37) % 960
        return (0..<length).map { seed[$0 % 64] &+ UInt8(truncatingIfNeeded: $0 / 64) }
    }
}

Process.exit(crashTestMain())
