/// Number formatting without Foundation or floating-point `description` (neither exists in Embedded Swift).
public enum Format {
    /// `value` with exactly `places` decimals, rounded half away from zero: `fixed(3.14159, 2)` = "3.14".
    public static func fixed(_ value: Double, _ places: Int) -> String {
        if value.isNaN { return "nan" }
        if value.isInfinite { return value < 0 ? "-inf" : "inf" }
        var scale = 1.0
        for _ in 0..<places { scale *= 10 }
        let negative = value < 0
        let magnitude = negative ? -value : value
        guard magnitude * scale < 9.0e18 else { return scientific(value) }
        let scaled = UInt64((magnitude * scale).rounded())
        let unit = UInt64(scale)
        var text = String(scaled / unit)
        if places > 0 {
            var fraction = String(scaled % unit)
            while fraction.utf8.count < places { fraction = "0" + fraction }
            text += "." + fraction
        }
        return negative && scaled != 0 ? "-" + text : text
    }

    /// A compact JSON-safe rendering with about `significant` significant digits.
    public static func number(_ value: Double, significant: Int = 6) -> String {
        if value == 0 { return "0" }
        let magnitude = value < 0 ? -value : value
        if magnitude >= 1e15 || magnitude < 1e-6 { return scientific(value) }
        var digitsBefore = 0
        var m = magnitude
        while m >= 1 { m /= 10; digitsBefore += 1 }
        return fixed(value, max(0, significant - digitsBefore))
    }

    /// d.dddde±x form, for values outside fixed-point range.
    public static func scientific(_ value: Double) -> String {
        if value == 0 || value.isNaN || value.isInfinite { return fixed(value, 0) }
        var m = value < 0 ? -value : value
        var exponent = 0
        while m >= 10 { m /= 10; exponent += 1 }
        while m < 1 { m *= 10; exponent -= 1 }
        return (value < 0 ? "-" : "") + fixed(m, 4) + "e" + String(exponent)
    }

    /// Right-aligns `text` in a field of `width` characters.
    public static func pad(_ text: String, _ width: Int, left: Bool = false) -> String {
        let count = text.utf8.count
        guard count < width else { return text }
        let spaces = String(repeating: " ", count: width - count)
        return left ? text + spaces : spaces + text
    }

    /// (year, month 1–12, day 1–31) of a day number (days since 1970-01-01; proleptic Gregorian):
    /// Howard Hinnant's civil-from-days.
    public static func civil(days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    /// "YYYY-MM-DD HH:MM" in UTC for Unix seconds (days-to-civil after H. Hinnant's algorithm; no libc
    /// time zone database on a headless board, so UTC is what every device agrees on).
    public static func utc(_ seconds: Int64) -> String {
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = seconds - days * 86_400
        let (year, month, day) = civil(days: days)
        func two(_ v: Int64) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(year)-\(two(month))-\(two(day)) \(two(secondOfDay / 3600)):\(two(secondOfDay % 3600 / 60))"
    }

    /// A decimal number ("12", "-0.25", "1.5e3"), or nil. Parsed here rather than with `Double(String)`,
    /// which Embedded Swift cannot link (it needs the C library's locale-free strtod shim).
    public static func decimal<S: StringProtocol>(_ text: S) -> Double? {
        var bytes = Array(text.utf8)[...]
        guard !bytes.isEmpty else { return nil }
        var sign = 1.0
        if bytes.first == UInt8(ascii: "-") || bytes.first == UInt8(ascii: "+") {
            if bytes.first == UInt8(ascii: "-") { sign = -1 }
            bytes = bytes.dropFirst()
        }
        func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }
        var value = 0.0, digits = 0, scale = 0
        while let c = bytes.first, isDigit(c) { value = value * 10 + Double(c - 0x30); digits += 1; bytes = bytes.dropFirst() }
        if bytes.first == UInt8(ascii: ".") {
            bytes = bytes.dropFirst()
            while let c = bytes.first, isDigit(c) { value = value * 10 + Double(c - 0x30); scale -= 1; digits += 1; bytes = bytes.dropFirst() }
        }
        guard digits > 0 else { return nil }
        if let e = bytes.first, e == UInt8(ascii: "e") || e == UInt8(ascii: "E") {
            bytes = bytes.dropFirst()
            var exponentSign = 1
            if bytes.first == UInt8(ascii: "-") || bytes.first == UInt8(ascii: "+") {
                if bytes.first == UInt8(ascii: "-") { exponentSign = -1 }
                bytes = bytes.dropFirst()
            }
            var exponent = 0, exponentDigits = 0
            while let c = bytes.first, isDigit(c), exponent < 10_000 { exponent = exponent * 10 + Int(c - 0x30); exponentDigits += 1; bytes = bytes.dropFirst() }
            guard exponentDigits > 0 else { return nil }
            scale += exponentSign * exponent
        }
        guard bytes.isEmpty else { return nil }
        var power = 1.0
        for _ in 0..<min(abs(scale), 400) { power *= 10 }
        return sign * (scale >= 0 ? value * power : value / power)
    }

    /// RFC 3339 in UTC to the second: "2026-12-03T08:31:05Z".
    public static func rfc3339(_ seconds: Int64) -> String {
        let day = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let s = seconds - day * 86_400
        func two(_ v: Int64) -> String { v < 10 ? "0\(v)" : "\(v)" }
        let date = utc(day * 86_400).prefix(10)
        return "\(date)T\(two(s / 3600)):\(two(s % 3600 / 60)):\(two(s % 60))Z"
    }

    /// `text` as a JSON string literal (quotes, backslashes and control characters escaped).
    public static func json(_ text: String) -> String {
        var out = "\""
        for u in text.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 {
                    let hex = Array("0123456789abcdef".utf8)
                    out += "\\u00" + String(decoding: [hex[Int(u.value >> 4)], hex[Int(u.value & 15)]], as: UTF8.self)
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        return out + "\""
    }
}
