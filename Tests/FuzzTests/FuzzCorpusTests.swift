import Foundation
import Testing
import PosternFuzz
import PosternNetwork
import PosternPacket

/// The fuzz corpora in fuzz/corpus (seeds, and every input a fuzzing run found a problem with, kept as a
/// regression) go through their targets on every `swift test`: each must be refused or accepted with the
/// target's invariants intact. Longer runs: cross/fuzz (docs/FUZZING.md).
@Suite(.serialized) struct FuzzCorpusTests {
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../fuzz/corpus").standardized

    static func inputs(_ target: String) -> [URL] {
        let dir = corpus.appendingPathComponent(target)
        return ((try? FileManager.default.contentsOfDirectory(at: dir, includingPropertiesForKeys: nil)) ?? []).sorted { $0.path < $1.path }
    }

    @Test func everyTargetHasACorpusInTheRepository() {
        for t in Fuzz.targets { #expect(!Self.inputs(t.name).isEmpty, "fuzz/corpus/\(t.name) is empty") }
        let dirs = (try? FileManager.default.contentsOfDirectory(atPath: Self.corpus.path)) ?? []
        #expect(Set(dirs) == Set(Fuzz.targets.map(\.name)), "corpus directories without a target, or targets without one")
    }

    @Test(arguments: Fuzz.targets.map(\.name)) func theCorpusKeepsItsInvariants(_ name: String) throws {
        let t = try #require(Fuzz.target(name))
        for url in Self.inputs(name) { t.run(try Data(contentsOf: url).map { $0 }) }
    }

    /// The seeds are valid inputs: they reach past the first check of their parser (a seed refused at the
    /// door would make a useless start for the fuzzer). Checked where "accepted" is visible from outside.
    @Test func seedsAreAccepted() throws {
        for seed in try #require(Fuzz.target("client-request")).seeds() {
            #expect(seed.withUnsafeBytes { ClientRequest.parse($0, packetBytes: Geometry.standard.packetBytes)?.request } != nil)
        }
        #expect(try #require(Fuzz.target("packet")).seeds().count == 3)
        #expect(try #require(Fuzz.target("profile")).seeds().count >= 8)
    }

    /// Random bytes (bounded: 300 inputs of up to 3 000 bytes per target) keep every invariant too.
    @Test(arguments: Fuzz.targets.map(\.name)) func randomBytesKeepTheInvariants(_ name: String) throws {
        let t = try #require(Fuzz.target(name))
        var rng = SystemRandomNumberGenerator()
        let seeds = t.seeds()
        for i in 0..<300 {
            var input: [UInt8]
            if i % 2 == 0, let s = seeds.randomElement(using: &rng), !s.isEmpty {
                input = s   // a seed with a few bytes changed
                for _ in 0..<(1 + i % 4) { input[Int.random(in: 0..<input.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng) }
            } else {
                input = (0..<Int.random(in: 0...3000, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            }
            t.run(input)
        }
    }
}
