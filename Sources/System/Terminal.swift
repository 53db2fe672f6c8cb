import CSystem

/// Writes text to stdout/stderr through the seam (Embedded Swift's `print` only reaches stdout).
///
/// Stdout is buffered and flushed at a newline when the output is a terminal, or when the buffer fills,
/// so table output and JSON lines stay cheap; stderr is written at once.
public enum Terminal {
    nonisolated(unsafe) private static var buffer: [UInt8] = []
    nonisolated(unsafe) private static var stdoutIsTTY: Int32 = -1
    nonisolated(unsafe) private static var progressShown = false

    public static func out(_ text: String) {
        buffer.append(contentsOf: text.utf8)
        if stdoutIsTTY < 0 { stdoutIsTTY = psys_isatty(1) }
        if buffer.count >= 4096 || (stdoutIsTTY == 1 && text.utf8.last == 10) { flush() }
    }

    /// Standard input delivers single keys, unechoed (on) or lines as before (off).
    public static func singleKeys(_ on: Bool) { _ = psys_terminal_keys(on ? 1 : 0) }

    /// Whether standard input is a terminal (a person typing), not a pipe or a file.
    public static var inputIsTerminal: Bool { psys_isatty(0) == 1 }

    public static func line(_ text: String) { out(text + "\n") }

    public static func error(_ text: String) {
        flush()
        if progressShown { clearProgress() }
        var bytes = Array(text.utf8)
        bytes.append(10)
        _ = bytes.withUnsafeBytes { psys_write_all(2, $0.baseAddress, $0.count) }
    }

    /// Rewrites the current stderr line (progress display); only when stderr is a terminal.
    public static func progress(_ text: String) {
        guard psys_isatty(2) == 1 else { return }
        progressShown = !text.isEmpty
        let bytes = Array(("\r\u{1B}[2K" + text).utf8)
        _ = bytes.withUnsafeBytes { psys_write_all(2, $0.baseAddress, $0.count) }
    }

    public static func clearProgress() { progress("") }

    public static func flush() {
        guard !buffer.isEmpty else { return }
        _ = buffer.withUnsafeBytes { psys_write_all(1, $0.baseAddress, $0.count) }
        buffer.removeAll(keepingCapacity: true)
    }

    /// Asks for a secret on the controlling terminal without echo; nil (with the reason) when there is
    /// no terminal or the read fails.
    public static func readSecret(prompt: String) -> Result<[UInt8], SystemError> {
        flush()
        var buffer = [UInt8](repeating: 0, count: 1024)
        let n = buffer.withUnsafeMutableBufferPointer { b in psys_read_secret(prompt, b.baseAddress, Int32(b.count)) }
        guard n >= 0 else {
            buffer.withUnsafeMutableBytes { for i in 0..<$0.count { $0[i] = 0 } }
            return .failure(SystemError(n, "read passphrase from the terminal"))
        }
        let secret = Array(buffer[0..<Int(n)])
        buffer.withUnsafeMutableBytes { for i in 0..<$0.count { $0[i] = 0 } }
        return .success(secret)
    }
}
