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
}
