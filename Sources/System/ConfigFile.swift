/// A TOML subset for configuration files: `[section]` headers, `key = value` lines, `#` comments,
/// values that are "strings", integers or true/false. Every error names its line.
public enum ConfigValue: Equatable {
    case string(String), integer(Int), boolean(Bool)
}

public struct ConfigError: Error, Equatable, CustomStringConvertible {
    public let line: Int
    public let message: String
    public init(line: Int, message: String) {
        self.line = line
        self.message = message
    }

    public var description: String { line > 0 ? "config line \(line): \(message)" : "config: \(message)" }
}

public struct ConfigFile {
    /// "section.key" → (value, line).
    public private(set) var entries: [String: (value: ConfigValue, line: Int)] = [:]

    public init(text: String) throws(ConfigError) {
        var section = ""
        for (i, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let n = i + 1
            let line = Self.stripComment(String(raw)).trimmed
            if line.isEmpty { continue }
            if line.hasPrefix("[") {
                guard line.hasSuffix("]"), line.count > 2 else { throw ConfigError(line: n, message: "bad section header") }
                section = String(line.dropFirst().dropLast()).trimmed
                guard section.allSatisfy({ $0.isLetter || $0 == "_" }) else { throw ConfigError(line: n, message: "bad section name") }
                continue
            }
            guard let eq = line.firstIndex(of: "=") else { throw ConfigError(line: n, message: "expected 'key = value'") }
            let key = String(line[..<eq]).trimmed, valueText = String(line[line.index(after: eq)...]).trimmed
            guard !key.isEmpty, key.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else {
                throw ConfigError(line: n, message: "bad key '\(key)'")
            }
            let full = section.isEmpty ? key : section + "." + key
            guard entries[full] == nil else { throw ConfigError(line: n, message: "'\(full)' is set twice") }
            entries[full] = (try Self.value(valueText, line: n), n)
        }
    }

    static func stripComment(_ line: String) -> String {
        var inString = false
        var out = ""
        for c in line {
            if c == "\"" { inString.toggle() }
            if c == "#" && !inString { break }
            out.append(c)
        }
        return out
    }

    static func value(_ text: String, line: Int) throws(ConfigError) -> ConfigValue {
        if text.hasPrefix("\"") {
            guard text.count >= 2, text.hasSuffix("\""), !text.dropFirst().dropLast().contains("\"") else {
                throw ConfigError(line: line, message: "unterminated string")
            }
            return .string(String(text.dropFirst().dropLast()))
        }
        if text == "true" { return .boolean(true) }
        if text == "false" { return .boolean(false) }
        if let i = Int(text.replacingUnderscores) { return .integer(i) }
        let digits = text.replacingUnderscores.drop { $0 == "-" || $0 == "+" }
        if !digits.isEmpty && digits.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) {
            throw ConfigError(line: line, message: "\(text) is too large for an integer (at most \(Int.max))")
        }
        throw ConfigError(line: line, message: "value must be a \"string\", an integer or true/false")
    }

    /// Fails on the first key not in `known`, naming its line.
    public func checkKeys(_ known: [String]) throws(ConfigError) {
        for (key, entry) in entries.sorted(by: { $0.value.line < $1.value.line }) where !known.contains(key) {
            throw ConfigError(line: entry.line, message: "unknown key '\(key)'")
        }
    }

    public func string(_ key: String, default d: String) throws(ConfigError) -> String {
        guard let e = entries[key] else { return d }
        guard case .string(let s) = e.value else { throw ConfigError(line: e.line, message: "'\(key)' must be a string") }
        return s
    }

    public func boolean(_ key: String, default d: Bool) throws(ConfigError) -> Bool {
        guard let e = entries[key] else { return d }
        guard case .boolean(let b) = e.value else { throw ConfigError(line: e.line, message: "'\(key)' must be true or false") }
        return b
    }

    public func integer(_ key: String, default d: Int, range: ClosedRange<Int>) throws(ConfigError) -> Int {
        guard let e = entries[key] else { return d }
        guard case .integer(let i) = e.value else { throw ConfigError(line: e.line, message: "'\(key)' must be an integer") }
        guard range.contains(i) else {
            throw ConfigError(line: e.line, message: "'\(key)' must be between \(range.lowerBound) and \(range.upperBound)")
        }
        return i
    }
}

extension String {
    /// Without leading and trailing spaces, tabs and carriage returns.
    public var trimmed: String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" || f == "\r" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" || l == "\r" { s.removeLast() }
        return String(s)
    }

    var replacingUnderscores: String { String(filter { $0 != "_" }) }
}
