import Foundation
import PosternStore
import Testing

/// The LMDB record store under the mailbox and the profile.
@Suite struct RecordStoreTests {
    @Test func namedRecordsSurviveAReopenOnlyOnceFlushed() throws {
        let box = Sandbox()
        do {
            let store = try RecordStore(directory: box.path, mapSize: 1 << 20)
            try store.set("node-key", [1, 2, 3])
            try store.set("empty", [])
            try store.flush()
            try store.set("unflushed", [9])
        }
        let store = try RecordStore(directory: box.path, mapSize: 1 << 20)
        #expect(try store.get("node-key") == [1, 2, 3])
        #expect(try store.get("empty") == [])
        #expect(try store.get("missing") == nil)
        #expect(try store.get("unflushed") == nil, "a batch never flushed is not durable")
        #expect(try store.remove("node-key"))
        #expect(try !store.remove("node-key"))
        #expect(try store.get("node-key") == nil)
    }

    @Test func secondOpenIsRefusedUntilTheFirstCloses() throws {
        let box = Sandbox()
        var first: RecordStore? = try RecordStore(directory: box.path, mapSize: 1 << 20)
        #expect(throws: StoreError.inUse(path: box.path)) { try RecordStore(directory: box.path, mapSize: 1 << 20, lockWaitSeconds: 0) }
        let start = Date()
        #expect(throws: StoreError.inUse(path: box.path)) { try RecordStore(directory: box.path, mapSize: 1 << 20, lockWaitSeconds: 0.2) }
        #expect(Date().timeIntervalSince(start) >= 0.2, "gave up before the wait was over")
        _ = first
        first = nil
        _ = try RecordStore(directory: box.path, mapSize: 1 << 20)
    }

    /// A lock being let go is waited for (here the store is closed by another thread after 0.3 s; in a test
    /// process, a just-spawned child can share the lock until its exec): an in-process node restart
    /// failed at once with "store … is in use by another process" while another test spawned processes.
    @Test func openWaitsForALockBeingLetGo() throws {
        let box = Sandbox()
        nonisolated(unsafe) var first: RecordStore? = try RecordStore(directory: box.path, mapSize: 1 << 20)
        let release = Thread { Thread.sleep(forTimeInterval: 0.3); first = nil }
        release.start()
        let start = Date()
        let second = try RecordStore(directory: box.path, mapSize: 1 << 20, lockWaitSeconds: 10)
        #expect(Date().timeIntervalSince(start) >= 0.25)
        _ = second
    }

    @Test func aFullMapRefusesTheWriteAndKeepsWhatWasCommitted() throws {
        let box = Sandbox()
        let store = try RecordStore(directory: box.path, mapSize: 256 << 10)
        try store.set("kept", [7])
        try store.flush()
        var failure: StoreError?
        for i in 0..<200 where failure == nil {
            do { try store.set("r\(i)", [UInt8](repeating: 1, count: 8000)) } catch { failure = error }
        }
        #expect(failure == .storeFull)
        #expect(try store.get("kept") == [7])
    }

    /// Replay tags per epoch survive a reopen once flushed; dropping an epoch deletes its tags only.
    @Test func replayTagsPerEpoch() throws {
        let box = Sandbox()
        do {
            let replay = ReplayTagStore(store: try RecordStore(directory: box.path, mapSize: 1 << 20))
            let tags: [(UInt64, UInt64)] = (0..<100).map { (UInt64($0), 7) }
            try tags.withUnsafeBufferPointer { (t) throws(StoreError) in try replay.record(epoch: 1, t) }
            try [(UInt64(5), UInt64(7)), (9, 9)].withUnsafeBufferPointer { (t) throws(StoreError) in try replay.record(epoch: 1, t) }
            try [(UInt64(1), UInt64(1))].withUnsafeBufferPointer { (t) throws(StoreError) in try replay.record(epoch: 2, t) }
            try replay.store.flush()
            try [(UInt64(3), UInt64(3))].withUnsafeBufferPointer { (t) throws(StoreError) in try replay.record(epoch: 3, t) }
        }
        let replay = ReplayTagStore(store: try RecordStore(directory: box.path, mapSize: 1 << 20))
        #expect(try replay.tags(epoch: 1).count == 101)
        #expect(try replay.tags(epoch: 2).map { $0.0 } == [1])
        #expect(try replay.tags(epoch: 3).isEmpty, "never flushed")
        #expect(try Set(replay.epochs()) == [1, 2])
        try replay.drop(epoch: 1)
        try replay.store.flush()
        #expect(try replay.tags(epoch: 1).isEmpty && replay.epochs() == [2])
    }

    @Test func errorsDescribeThemselvesInOneLine() {
        let errors: [StoreError] = [.storeFull, .diskFull, .inUse(path: "/x"), .corrupt(path: "/x", detail: "bad"),
                                    .lmdb(code: 1, detail: "d"), .directory(path: "/x", .init(2, "open"))]
        for e in errors { #expect(!e.description.isEmpty && !e.description.contains("\n") && "\(e)" == e.description) }
    }
}
