import Foundation
import PosternMailbox
import Testing

/// SIGKILL a process that deposits as fast as it can; every deposit it acknowledged must survive, and
/// the store must open clean, every time.
@Suite struct CrashTests {
    static var helper: String {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
            .appendingPathComponent("postern-crashtest").path
    }

    @Test func acknowledgedDepositsSurviveSIGKILL() throws {
        #expect(FileManager.default.isExecutableFile(atPath: Self.helper), "build postern-crashtest first")
        let box = Sandbox()
        var acknowledged: [Int] = []
        var next = 0
        for round in 0..<5 {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: Self.helper)
            process.arguments = [box.path, "--start", String(next), "--batch", String(1 + round * 3)]
            let pipe = Pipe()
            process.standardOutput = pipe
            process.standardError = FileHandle.nullDevice
            try process.run()
            Thread.sleep(forTimeInterval: Double.random(in: 0.3...0.8))
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            #expect(process.terminationReason == .uncaughtSignal)
            let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            let acks = output.split(separator: "\n").compactMap { line -> Int? in
                let parts = line.split(separator: " ")
                return parts.count == 3 && parts[0] == "ack" ? Int(parts[1]) : nil
            }
            #expect(!acks.isEmpty, "round \(round): the helper acknowledged nothing")
            acknowledged += acks
            next = (acks.max() ?? next) + 1_000_000   // fresh message numbers each round

            // The environment opens clean and holds at least everything acknowledged.
            let store = try MailboxStore(directory: box.path)
            #expect(store.messageCount >= UInt64(acknowledged.count))
        }
        // And each acknowledged message is there with its exact content.
        let verify = Process()
        verify.executableURL = URL(fileURLWithPath: Self.helper)
        verify.arguments = [box.path, "--verify"] + acknowledged.map(String.init)
        let out = Pipe()
        verify.standardOutput = out
        try verify.run()
        verify.waitUntilExit()
        let report = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(verify.terminationStatus == 0, "\(report.suffix(300))")
        #expect(acknowledged.count > 20)
    }
}
