import CLMDB
import PosternSystem

/// A thin typed layer over LMDB's C API: environment, write/read transactions, named databases,
/// cursors. Keys and values are raw byte ranges; no allocation per call.
package final class LMDBEnvironment {
    package let env: OpaquePointer

    package init(path: String, mapSize: Int, maxDatabases: UInt32) throws(StoreError) {
        var e: OpaquePointer?
        try Self.check(mdb_env_create(&e))
        env = e!
        do throws(StoreError) {
            try Self.check(mdb_env_set_mapsize(env, mapSize))
            try Self.check(mdb_env_set_maxdbs(env, maxDatabases))
            let rc = path.withCString { mdb_env_open(env, $0, UInt32(MDB_NOTLS), 0o600) }
            if rc == MDB_INVALID || rc == MDB_VERSION_MISMATCH || rc == MDB_CORRUPTED || rc == MDB_PANIC {
                throw StoreError.corrupt(path: path, detail: String(cString: mdb_strerror(rc)))
            }
            try Self.check(rc)
            // Readers left behind by a killed process would pin old pages; clear them.
            var dead: Int32 = 0
            _ = mdb_reader_check(env, &dead)
        } catch {
            // `env` is set, so the failed init still runs deinit, which closes it: no close here.
            throw error
        }
    }

    deinit { mdb_env_close(env) }

    package static func check(_ rc: Int32) throws(StoreError) {
        guard rc != 0 else { return }
        throw error(rc)
    }

    package static func error(_ rc: Int32) -> StoreError {
        switch rc {
        case MDB_MAP_FULL: .storeFull
        case 28: .diskFull  // ENOSPC
        case MDB_CORRUPTED, MDB_PANIC, MDB_INVALID: .corrupt(path: "", detail: String(cString: mdb_strerror(rc)))
        default: .lmdb(code: rc, detail: String(cString: mdb_strerror(rc)))
        }
    }

    package func begin(readOnly: Bool) throws(StoreError) -> OpaquePointer {
        var txn: OpaquePointer?
        try Self.check(mdb_txn_begin(env, nil, readOnly ? UInt32(MDB_RDONLY) : 0, &txn))
        return txn!
    }

    package func open(_ txn: OpaquePointer, name: String, create: Bool) throws(StoreError) -> MDB_dbi {
        var dbi: MDB_dbi = 0
        let rc = name.withCString { mdb_dbi_open(txn, $0, create ? UInt32(MDB_CREATE) : 0, &dbi) }
        try Self.check(rc)
        return dbi
    }

    /// The page size LMDB uses (the OS page size: 4 KiB on most boards, 16 KiB on a Pi 5 kernel).
    package func pageSize() -> Int {
        var stat = MDB_stat()
        mdb_env_stat(env, &stat)
        return Int(stat.ms_psize)
    }

    /// Bytes in use: (last used page + 1) × page size.
    package func usedBytes() -> Int {
        var info = MDB_envinfo()
        var stat = MDB_stat()
        mdb_env_info(env, &info)
        mdb_env_stat(env, &stat)
        return (info.me_last_pgno + 1) * Int(stat.ms_psize)
    }
}

/// A key or value pointing at caller memory, valid for the duration of the call.
@inline(__always)
package func val(_ p: UnsafeRawPointer, _ n: Int) -> MDB_val {
    MDB_val(mv_size: n, mv_data: UnsafeMutableRawPointer(mutating: p))
}

/// Big-endian integers inside keys, so LMDB's byte order equals numeric order.
@inline(__always)
package func storeBE(_ v: UInt64, _ p: UnsafeMutableRawPointer, _ offset: Int) {
    p.storeBytes(of: v.bigEndian, toByteOffset: offset, as: UInt64.self)
}

@inline(__always)
package func loadBE(_ p: UnsafeRawPointer, _ offset: Int) -> UInt64 {
    UInt64(bigEndian: p.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
}
