import Foundation
import PosternClient
import PosternRatchet
import PosternCrypto
import Testing

/// The QR encoder checked by an independent decoder: every symbol is written as PBM and read back with
/// zbar's `zbarimg` (installed by `cross/install-deps host`).
@Suite struct QRCodeTests {
    static let zbar = "/usr/bin/zbarimg"

    static func decode(_ code: QRCode) throws -> String? { try decode(pbm: code.pbm(scale: 3)) }

    static func decode(pbm: String) throws -> String? {
        let path = NSTemporaryDirectory() + "postern-qr-" + UUID().uuidString + ".pbm"
        try pbm.write(toFile: path, atomically: true, encoding: .ascii)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: zbar)
        p.arguments = ["-q", "--raw", "-Sbinary", path]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { return nil }
        var text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        if text.hasSuffix("\n") { text.removeLast() }
        return text
    }

    @Test func contactBundleRoundTrip() throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.zbar), "zbar-tools is missing (cross/install-deps host)")
        let bundle = ContactSecret(gateway: .random()).bundle.text
        let code = try QRCode(bytes: Array(bundle.utf8))
        #expect(code.version == 7 && code.size == 45)
        #expect(try Self.decode(code) == bundle)
        #expect(code.terminalText.contains("▀") && code.terminalText.split(separator: "\n").count == (45 + 4 + 1) / 2)
    }

    /// What `contact new` draws is scannable: the half-block text is turned back into pixels as a dark
    /// terminal shows it (glyph = light, background and everything around the text = dark) and decoded.
    @Test func terminalDrawingDecodes() throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.zbar), "zbar-tools is missing (cross/install-deps host)")
        let bundle = ContactSecret(gateway: .random()).bundle.text
        let lines = try QRCode(bytes: Array(bundle.utf8)).terminalText.split(separator: "\n").map(Array.init)
        let width = lines[0].count, margin = 6, scale = 3
        var rows: [[Bool]] = []   // true = dark pixel
        for _ in 0..<margin { rows.append([Bool](repeating: true, count: width + 2 * margin)) }
        for line in lines {
            #expect(line.count == width)
            var top = [Bool](repeating: true, count: margin), bottom = top
            for ch in line {
                top.append(!(ch == "█" || ch == "▀"))
                bottom.append(!(ch == "█" || ch == "▄"))
            }
            rows.append(top + [Bool](repeating: true, count: margin))
            rows.append(bottom + [Bool](repeating: true, count: margin))
        }
        for _ in 0..<margin { rows.append([Bool](repeating: true, count: width + 2 * margin)) }
        var pbm = "P1\n\((width + 2 * margin) * scale) \(rows.count * scale)\n"
        for row in rows {
            let line = row.flatMap { [String](repeating: $0 ? "1" : "0", count: scale) }.joined(separator: " ")
            for _ in 0..<scale { pbm += line + "\n" }
        }
        #expect(try Self.decode(pbm: pbm) == bundle)
    }

    /// Every version 1–10 (lengths chosen to land in each), read back exactly. The texts are fixed (a
    /// seeded generator): zbar 0.23 misreads about one version-10 symbol in a thousand, appending digits
    /// it did not find there (e.g. ":r0lxdmdzy63…:-079z", 212 bytes, read back with "178759" appended;
    /// python-qrcode's symbol for it with the same mask is identical to ours, module for module, and zbar
    /// misreads that one too), so random texts made this test fail now and then.
    @Test func everyVersionDecodes() throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.zbar), "zbar-tools is missing (cross/install-deps host)")
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789:/-".utf8)
        var versions = Set<Int>()
        let rng = SeededRandom(seed: [UInt8](repeating: 0x51, count: 32))
        func below(_ n: Int) -> Int {
            var v: UInt64 = 0
            withUnsafeMutableBytes(of: &v) { rng.fill($0.baseAddress!, count: 8) }
            return Int(v % UInt64(n))
        }
        for length in [1, 14, 15, 26, 27, 42, 43, 62, 63, 84, 85, 106, 107, 122, 123, 152, 153, 180, 181, 213] {
            let text = String(decoding: (0..<length).map { _ in alphabet[below(alphabet.count)] }, as: UTF8.self)
            let code = try QRCode(bytes: Array(text.utf8))
            versions.insert(code.version)
            #expect(try Self.decode(code) == text, "length \(length), version \(code.version)")
        }
        #expect(versions == Set(1...10))
        #expect(throws: QRCode.QRError.tooLong(214)) { try QRCode(bytes: [UInt8](repeating: 65, count: 214)) }
    }
}
