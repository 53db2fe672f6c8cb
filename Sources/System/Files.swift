import CSystem

/// Whole-file helpers. Writes that must survive a crash go through `writeAtomically`.
public enum Files {
    public static func exists(_ path: String) -> Bool {
        path.withCString { psys_stat_kind($0, nil, nil) } == 1
    }

    public static func isDirectory(_ path: String) -> Bool {
        var isDir: Int32 = 0
        let found = path.withCString { psys_stat_kind($0, &isDir, nil) }
        return found == 1 && isDir == 1
    }

    public static func read(_ path: String, limit: Int = 16 << 20) throws(SystemError) -> [UInt8] {
        let fd = try check(path.withCString { psys_open($0, Int32(PSYS_O_READ), 0) }, "open")
        defer { _ = psys_close(fd) }
        var result: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16384)
        while true {
            let n = try check(chunk.withUnsafeMutableBytes { psys_read(fd, $0.baseAddress, $0.count) }, "read")
            if n == 0 { break }
            result.append(contentsOf: chunk[0..<Int(n)])
            if result.count > limit { throw SystemError(27, "read") }  // EFBIG
        }
        return result
    }

    /// Writes `bytes` to `path` so that after a crash the file holds either the old or the new content:
    /// write a temporary sibling, fsync it, rename over the target, fsync the directory.
    public static func writeAtomically(_ path: String, _ bytes: [UInt8], mode: UInt32 = 0o600) throws(SystemError) {
        let temporary = path + ".tmp"
        let flags = Int32(PSYS_O_WRITE | PSYS_O_CREATE | PSYS_O_TRUNCATE)
        let fd = try check(temporary.withCString { psys_open($0, flags, mode) }, "open")
        do {
            _ = try check(bytes.withUnsafeBytes { psys_write_all(fd, $0.baseAddress, $0.count) }, "write")
            _ = try check(psys_fsync(fd), "fsync")
        } catch {
            _ = psys_close(fd)
            _ = temporary.withCString { psys_unlink($0) }
            throw error
        }
        _ = psys_close(fd)
        _ = try check(temporary.withCString { t in path.withCString { psys_rename(t, $0) } }, "rename")
        try syncDirectory(of: path)
    }

    /// fsync on the directory makes a rename inside it durable.
    public static func syncDirectory(of path: String) throws(SystemError) {
        var directory = "."
        if let slash = path.utf8.lastIndex(of: UInt8(ascii: "/")) {
            directory = slash == path.utf8.startIndex ? "/" : String(path[..<slash])
        }
        let fd = try check(directory.withCString { psys_open($0, Int32(PSYS_O_READ | PSYS_O_DIRECTORY), 0) }, "open")
        defer { _ = psys_close(fd) }
        _ = try check(psys_fsync(fd), "fsync")
    }

    public static func makeDirectory(_ path: String, mode: UInt32 = 0o700) throws(SystemError) {
        let r = path.withCString { psys_mkdir($0, mode) }
        if r < 0 && -r != SystemError.EEXIST { throw SystemError(r, "mkdir") }
    }

    /// Removes `path` with everything under it (like `rm -rf`; links are not followed). Absent is fine.
    public static func removeTree(_ path: String) throws(SystemError) {
        _ = try check(path.withCString { psys_remove_tree($0) }, "remove")
    }

    /// Removes an empty directory.
    public static func removeDirectory(_ path: String) throws(SystemError) {
        _ = try check(path.withCString { psys_rmdir($0) }, "rmdir")
    }

    /// Creates `path` and any missing parents (like `mkdir -p`).
    public static func makeDirectories(_ path: String, mode: UInt32 = 0o700) throws(SystemError) {
        var partial = path.hasPrefix("/") ? "/" : ""
        for part in path.split(separator: "/") {
            partial += (partial.isEmpty || partial == "/" ? "" : "/") + part
            if !isDirectory(partial) { try makeDirectory(partial, mode: mode) }
        }
    }

    public static func remove(_ path: String) throws(SystemError) {
        _ = try check(path.withCString { psys_unlink($0) }, "unlink")
    }
}
