import Foundation
import PosternNetwork
import PosternNode
import PosternSystem
import Testing

@Suite struct ConfigTests {
    static var boardConfig: String {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("board/postern.toml")
        return (try? String(contentsOf: url, encoding: .utf8)) ?? ""
    }

    /// The shipped default file parses and states exactly the code's defaults.
    @Test func boardConfigIsTheDefaults() throws {
        let text = Self.boardConfig
        #expect(!text.isEmpty)
        #expect(try NodeConfig(text: text) == NodeConfig())
        // Every key the code knows is documented in the file.
        for key in NodeConfig.keys {
            let name = String(key.split(separator: ".")[1])
            #expect(text.contains("\n\(name) = ") || text.contains("\n# \(name) = "), "board/postern.toml lacks \(key)")
        }
    }

    @Test func errorsNameTheLine() {
        let cases: [(String, Int, String)] = [
            ("[node]\nlisten = \"0.0.0.0:7000\"\nbogus = 1\n", 3, "unknown key 'node.bogus'"),
            ("[mixing]\nmax_queued_packets = \"many\"\n", 2, "must be an integer"),
            ("[mixing]\n\nmax_queued_packets = 3\n", 3, "between"),
            ("[node]\nlisten = \"nowhere\"\n", 2, "host:port"),
            ("[node]\nkeys = \"unterminated\n", 2, "unterminated string"),
            ("[node\n", 1, "bad section header"),
            ("just words\n", 1, "expected 'key = value'"),
            ("[log]\nlevel = \"loud\"\n", 2, "log.level"),
            // A map too small for the byte cap would fill before eviction starts.
            ("[mailbox]\nmap_size_mb = 64\nbyte_cap_mb = 64\n", 2, "between 96 and"),
            ("[node]\nlisten = \"1.2.3.4:1\"\nlisten = \"1.2.3.4:2\"\n", 3, "set twice"),
            // Geometry a link cannot carry, or that overflows: refused with its line, never trapped on.
            ("[network]\npayload_bytes = 70000\n", 2, "between 256 and 60000"),
            ("[network]\npayload_bytes = 9223372036854775807\n", 2, "between"),
            ("[network]\nmax_hops = 17\n", 2, "between 3 and 16"),
            ("[network]\nlayers = 4\nmax_hops = 5\n", 2, "must not exceed"),
            ("[network]\nlayer_rule = 3\n", 2, "between 1 and 2"),
            ("[network]\nview_size = 40\n", 2, "needs 'network.layer_rule = 2'"),
            ("[network]\nlayer_rule = 2\nview_size = 2\n", 3, "at least 3"),
            ("[node]\nrole = \"gateway\"\n", 2, "client_listen"),
            ("[network]\nbootstrap = \"127.0.0.1:7000\"\n", 2, "host:port#"),
            // An integer too large says so (it used to say the value must be a string, an integer or true/false).
            ("[mixing]\nmax_queued_packets = 99999999999999999999\n", 2, "99999999999999999999 is too large for an integer"),
        ]
        for (text, line, fragment) in cases {
            do {
                _ = try NodeConfig(text: text)
                Issue.record("accepted: \(text)")
            } catch {
                #expect(error.line == line, "\(text)")
                #expect(error.description.contains(fragment), "\(error.description)")
                #expect(error.description.hasPrefix("config line \(line):"))
            }
        }
    }

    @Test func valuesAndComments() throws {
        let c = try NodeConfig(text: "# comment\n[node]\nlisten = \"127.0.0.1:9\" # trailing\n[mixing]\nmax_queued_packets = 10_000\n")
        #expect(c.listen == "127.0.0.1:9" && c.maxQueuedPackets == 10_000)
        let partial = try NodeConfig(text: "[network]\nlayer_rule = 2\nview_size = 40\n")
        #expect(partial.viewSize == 40 && partial.sampleSize == 40)
    }
}

/// Format.decimal (the parser Embedded builds use instead of Double(String)) agrees with Double(String)
/// on what both accept, and refuses what is not one number.
@Suite struct DecimalTests {
    @Test func agreesWithTheStandardParser() {
        for text in ["0", "12", "-3", "+4", "0.5", "2.25", "1e3", "1.5E-2", "-0.001", "7042", "123456789012", "3.", ".5"] {
            let mine = Format.decimal(text), reference = Double(text)
            #expect(mine != nil && reference != nil && abs(mine! - reference!) <= abs(reference!) * 1e-12, "\(text): \(String(describing: mine))")
        }
        for text in ["", "-", ".", "e3", "1e", "1.2.3", "12a", " 1", "NaN", "+Inf", "0x10"] {
            #expect(Format.decimal(text) == nil, "\(text)")
        }
    }
}
