/// QR codes (ISO/IEC 18004) for contact bundles: byte mode, error-correction level M, versions 1–10
/// (up to 213 bytes; a contact bundle needs version 7). Rendered for terminals with half-block
/// characters, or as a PBM image. Checked by decoding with an independent decoder (zbar) in the tests.
public struct QRCode {
    public let version: Int
    public let size: Int
    /// Row-major, true = dark.
    public let modules: [Bool]

    public enum QRError: Error, Equatable, CustomStringConvertible {
        case tooLong(Int)

        public var description: String {
            switch self {
            case .tooLong(let n): "\(n) bytes do not fit a QR code of version 10 or lower at level M"
            }
        }
    }

    /// Per version (1…10) at level M: EC codewords per block, and (count, data codewords) for the two
    /// block groups.
    static let ecPerBlock = [10, 16, 26, 18, 24, 16, 18, 22, 22, 26]
    static let groups: [(Int, Int, Int, Int)] = [(1, 16, 0, 0), (1, 28, 0, 0), (1, 44, 0, 0), (2, 32, 0, 0), (2, 43, 0, 0),
                                                 (4, 27, 0, 0), (4, 31, 0, 0), (2, 38, 2, 39), (3, 36, 2, 37), (4, 43, 1, 44)]
    static let alignment: [[Int]] = [[], [6, 18], [6, 22], [6, 26], [6, 30], [6, 34], [6, 22, 38], [6, 24, 42], [6, 26, 46], [6, 28, 50]]

    public init(bytes: [UInt8]) throws(QRError) {
        var chosen = 0
        for v in 1...10 {
            let g = Self.groups[v - 1]
            let capacityBits = (g.0 * g.1 + g.2 * g.3) * 8
            if 4 + (v <= 9 ? 8 : 16) + bytes.count * 8 <= capacityBits { chosen = v; break }
        }
        guard chosen > 0 else { throw .tooLong(bytes.count) }
        var builder = Builder(version: chosen)
        builder.place(Self.codewords(bytes, version: chosen))
        version = chosen
        size = builder.size
        modules = builder.bestMasked()
    }

    /// Data codewords (mode, count, bytes, terminator, padding) followed by the interleaved EC codewords.
    static func codewords(_ bytes: [UInt8], version v: Int) -> [UInt8] {
        let g = groups[v - 1]
        let dataCount = g.0 * g.1 + g.2 * g.3
        var bits: [Bool] = []
        func append(_ value: Int, _ count: Int) { for i in (0..<count).reversed() { bits.append(value >> i & 1 == 1) } }
        append(0b0100, 4)
        append(bytes.count, v <= 9 ? 8 : 16)
        for b in bytes { append(Int(b), 8) }
        append(0, min(4, dataCount * 8 - bits.count))
        while bits.count % 8 != 0 { bits.append(false) }
        var data: [UInt8] = stride(from: 0, to: bits.count, by: 8).map { i in (0..<8).reduce(UInt8(0)) { $0 << 1 | (bits[i + $1] ? 1 : 0) } }
        var pad: UInt8 = 0xEC
        while data.count < dataCount { data.append(pad); pad = pad == 0xEC ? 0x11 : 0xEC }
        // Split into blocks, compute each block's EC codewords, interleave.
        var blocks: [[UInt8]] = []
        var offset = 0
        for (count, length) in [(g.0, g.1), (g.2, g.3)] {
            for _ in 0..<count { blocks.append(Array(data[offset..<(offset + length)])); offset += length }
        }
        let ec = blocks.map { ReedSolomon.remainder($0, degree: ecPerBlock[v - 1]) }
        var out: [UInt8] = []
        for i in 0..<(blocks.map { $0.count }.max() ?? 0) { for b in blocks where i < b.count { out.append(b[i]) } }
        for i in 0..<ecPerBlock[v - 1] { for e in ec { out.append(e[i]) } }
        return out
    }

    public func isDark(row: Int, column: Int) -> Bool { modules[row * size + column] }

    /// For a terminal: two module rows per text line with half blocks, light modules drawn so that the
    /// code shows dark-on-light on a dark terminal, with a 2-module quiet zone.
    public var terminalText: String {
        let quiet = 2
        func light(_ r: Int, _ c: Int) -> Bool {
            let rr = r - quiet, cc = c - quiet
            return rr < 0 || cc < 0 || rr >= size || cc >= size || !isDark(row: rr, column: cc)
        }
        var text = ""
        let total = size + 2 * quiet
        for r in stride(from: 0, to: total, by: 2) {
            for c in 0..<total {
                let top = light(r, c), bottom = r + 1 < total ? light(r + 1, c) : false
                text += top && bottom ? "█" : top ? "▀" : bottom ? "▄" : " "
            }
            text += "\n"
        }
        return text
    }

    /// A plain PBM (P1) image: 1 = black, `scale` pixels per module, 4-module quiet zone.
    public func pbm(scale: Int = 4) -> String {
        let quiet = 4, side = (size + 2 * quiet) * scale
        var text = "P1\n\(side) \(side)\n"
        for y in 0..<side {
            var row: [UInt8] = []
            for x in 0..<side {
                let r = y / scale - quiet, c = x / scale - quiet
                let dark = r >= 0 && c >= 0 && r < size && c < size && isDark(row: r, column: c)
                row.append(dark ? 49 : 48)
            }
            text += String(decoding: row, as: UTF8.self) + "\n"
        }
        return text
    }
}

/// Reed–Solomon over GF(256) with the QR polynomial x⁸ + x⁴ + x³ + x² + 1 (0x11D).
enum ReedSolomon {
    static func multiply(_ a: UInt8, _ b: UInt8) -> UInt8 {
        var x = Int(a), y = Int(b), z = 0
        while y > 0 {
            if y & 1 == 1 { z ^= x }
            x <<= 1
            if x & 0x100 != 0 { x ^= 0x11D }
            y >>= 1
        }
        return UInt8(z)
    }

    /// Generator (x − α⁰)(x − α¹)…(x − α^(degree−1)), coefficients without the leading 1.
    static func generator(_ degree: Int) -> [UInt8] {
        var g = [UInt8](repeating: 0, count: degree)
        g[degree - 1] = 1
        var root: UInt8 = 1
        for _ in 0..<degree {
            for j in 0..<degree {
                g[j] = multiply(g[j], root)
                if j + 1 < degree { g[j] ^= g[j + 1] }
            }
            root = multiply(root, 2)
        }
        return g
    }

    static func remainder(_ data: [UInt8], degree: Int) -> [UInt8] {
        let g = generator(degree)
        var r = [UInt8](repeating: 0, count: degree)
        for b in data {
            let factor = b ^ r[0]
            r.removeFirst()
            r.append(0)
            for i in 0..<degree { r[i] ^= multiply(g[i], factor) }
        }
        return r
    }
}

extension QRCode {
    /// Lays out one symbol: function patterns, data, mask, format and version information.
    struct Builder {
        let version: Int
        let size: Int
        var dark: [Bool]
        var function: [Bool]

        init(version: Int) {
            self.version = version
            size = 17 + 4 * version
            dark = [Bool](repeating: false, count: size * size)
            function = [Bool](repeating: false, count: size * size)
            for i in 0..<size { set(6, i, i % 2 == 0); set(i, 6, i % 2 == 0) }          // timing
            for (x, y) in [(3, 3), (size - 4, 3), (3, size - 4)] {                         // finders + separators
                for dy in -4...4 { for dx in -4...4 {
                    let xx = x + dx, yy = y + dy
                    if xx >= 0 && xx < size && yy >= 0 && yy < size { set(xx, yy, max(abs(dx), abs(dy)) != 2 && max(abs(dx), abs(dy)) != 4) }
                } }
            }
            let positions = QRCode.alignment[version - 1]
            for (i, ay) in positions.enumerated() { for (j, ax) in positions.enumerated() {
                let last = positions.count - 1
                if (i == 0 && j == 0) || (i == 0 && j == last) || (i == last && j == 0) { continue }
                for dy in -2...2 { for dx in -2...2 { set(ax + dx, ay + dy, max(abs(dx), abs(dy)) != 1) } }
            } }
            drawFormat(mask: 0)   // reserves the format areas
            if version >= 7 {
                var rem = version
                for _ in 0..<12 { rem = (rem << 1) ^ ((rem >> 11) * 0x1F25) }
                let bits = version << 12 | rem
                for i in 0..<18 {
                    let bit = bits >> i & 1 == 1, a = size - 11 + i % 3, b = i / 3
                    set(a, b, bit); set(b, a, bit)
                }
            }
        }

        /// (x = column, y = row).
        mutating func set(_ x: Int, _ y: Int, _ isDark: Bool) {
            dark[y * size + x] = isDark
            function[y * size + x] = true
        }

        mutating func drawFormat(mask: Int) {
            let data = 0 << 3 | mask   // level M = 00
            var rem = data
            for _ in 0..<10 { rem = (rem << 1) ^ ((rem >> 9) * 0x537) }
            let bits = (data << 10 | rem) ^ 0x5412
            func bit(_ i: Int) -> Bool { bits >> i & 1 == 1 }
            for i in 0...5 { set(8, i, bit(i)) }
            set(8, 7, bit(6)); set(8, 8, bit(7)); set(7, 8, bit(8))
            for i in 9..<15 { set(14 - i, 8, bit(i)) }
            for i in 0..<8 { set(size - 1 - i, 8, bit(i)) }
            for i in 8..<15 { set(8, size - 15 + i, bit(i)) }
            set(8, size - 8, true)   // the dark module
        }

        mutating func place(_ codewords: [UInt8]) {
            var i = 0
            var right = size - 1
            while right >= 1 {
                if right == 6 { right = 5 }
                for vert in 0..<size {
                    for j in 0..<2 {
                        let x = right - j
                        let upward = (right + 1) & 2 == 0
                        let y = upward ? size - 1 - vert : vert
                        if !function[y * size + x] && i < codewords.count * 8 {
                            dark[y * size + x] = codewords[i >> 3] >> (7 - (i & 7)) & 1 == 1
                            i += 1
                        }
                    }
                }
                right -= 2
            }
        }

        static func masked(_ mask: Int, _ r: Int, _ c: Int) -> Bool {
            switch mask {
            case 0: (r + c) % 2 == 0
            case 1: r % 2 == 0
            case 2: c % 3 == 0
            case 3: (r + c) % 3 == 0
            case 4: (r / 2 + c / 3) % 2 == 0
            case 5: (r * c) % 2 + (r * c) % 3 == 0
            case 6: ((r * c) % 2 + (r * c) % 3) % 2 == 0
            default: ((r + c) % 2 + (r * c) % 3) % 2 == 0
            }
        }

        /// Tries all eight masks and keeps the one with the lowest penalty score.
        func bestMasked() -> [Bool] {
            var best: [Bool] = [], bestScore = Int.max
            for mask in 0..<8 {
                var candidate = self
                for r in 0..<size { for c in 0..<size where !function[r * size + c] && Self.masked(mask, r, c) {
                    candidate.dark[r * size + c].toggle()
                } }
                candidate.drawFormat(mask: mask)
                let score = candidate.penalty()
                if score < bestScore { bestScore = score; best = candidate.dark }
            }
            return best
        }

        /// The standard's four penalty rules (runs, 2×2 blocks, finder-like patterns, dark balance).
        func penalty() -> Int {
            var score = 0
            func at(_ r: Int, _ c: Int) -> Bool { dark[r * size + c] }
            for line in 0..<size {
                for horizontal in [true, false] {
                    var run = 1
                    var pattern = 0
                    for k in 0..<size {
                        let v = horizontal ? at(line, k) : at(k, line)
                        if k > 0 {
                            let prev = horizontal ? at(line, k - 1) : at(k - 1, line)
                            if v == prev { run += 1; if run == 5 { score += 3 } else if run > 5 { score += 1 } } else { run = 1 }
                        }
                        pattern = (pattern << 1 | (v ? 1 : 0)) & 0x7FF
                        if k >= 10 && (pattern == 0b10111010000 || pattern == 0b00001011101) { score += 40 }
                    }
                }
            }
            for r in 0..<(size - 1) { for c in 0..<(size - 1) {
                let v = at(r, c)
                if v == at(r + 1, c) && v == at(r, c + 1) && v == at(r + 1, c + 1) { score += 3 }
            } }
            let darkCount = dark.filter { $0 }.count
            let percent = darkCount * 100 / (size * size)
            score += abs(percent - 50) / 5 * 10
            return score
        }
    }
}
