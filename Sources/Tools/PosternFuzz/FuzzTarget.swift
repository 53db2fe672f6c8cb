import PosternSystem

/// One fuzz target: a parser that takes bytes from the network, the disk or a person, driven the way
/// Postern drives it, with the invariants that must hold whatever the bytes. Any input must be refused or
/// accepted, never crash, hang or break an invariant (`Fuzz.require` traps, which libFuzzer reports as a
/// crash and saves the input). docs/FUZZING.md lists the targets.
public struct FuzzTarget {
    public let name: String
    /// What the target feeds and what it checks (one line, for `postern-fuzz list`).
    public let summary: String
    /// Valid inputs to start from (the seed corpus in fuzz/corpus/NAME is made from these).
    public let seeds: () -> [[UInt8]]
    public let run: ([UInt8]) -> Void

    public init(name: String, summary: String, seeds: @escaping () -> [[UInt8]], run: @escaping ([UInt8]) -> Void) {
        self.name = name
        self.summary = summary
        self.seeds = seeds
        self.run = run
    }
}

public enum Fuzz {
    /// Every target, in the order `cross/fuzz all` runs them.
    nonisolated(unsafe) public static let targets: [FuzzTarget] = [
        packetTarget(), routingTarget(), deliveryTarget(), surbReplyTarget(), noiseHandshakeTarget(), linkFramesTarget(),
        clientRequestTarget(), gatewayResponseTarget(), descriptorTarget(), gossipTarget(), configTarget(), contactTarget(),
        chatTarget(), profileTarget(), ratchetTarget(),
    ]

    public static func target(_ name: String) -> FuzzTarget? { targets.first { $0.name == name } }

    /// An invariant every input must keep; a broken one is a finding (the process traps with the message).
    public static func require(_ condition: Bool, _ message: @autoclosure () -> String) {
        if !condition {
            Terminal.error("fuzz invariant broken: " + message())
            fatalError("fuzz invariant broken")
        }
    }
}

/// A byte reader for splitting one fuzz input into several values (a mode byte, lengths, the rest).
struct FuzzInput {
    let bytes: [UInt8]
    var offset = 0
    init(_ bytes: [UInt8]) { self.bytes = bytes }
    mutating func byte() -> UInt8 {
        guard offset < bytes.count else { return 0 }
        defer { offset += 1 }
        return bytes[offset]
    }
    mutating func take(_ n: Int) -> [UInt8] {
        let end = min(bytes.count, offset + max(0, n))
        defer { offset = end }
        return Array(bytes[offset..<end])
    }
    var rest: [UInt8] { Array(bytes[min(offset, bytes.count)...]) }
}

/// `bytes` cut or zero-padded to exactly `count`.
func sized(_ bytes: [UInt8], _ count: Int) -> [UInt8] {
    bytes.count >= count ? Array(bytes.prefix(count)) : bytes + [UInt8](repeating: 0, count: count - bytes.count)
}
