import PosternClient
import Testing

/// The profile's usage record (docs/CLIENT.md §7).
@Suite struct UsageTests {
    /// Month numbers (year × 12 + month − 1) of day numbers, from Python's datetime.
    @Test(arguments: [(Int64(0), Int64(23640)), (20790, 24323), (11016, 24001), (-1, 23639), (19783, 24290)])
    func monthOfADay(day: Int64, month: Int64) {
        #expect(Usage.month(ofDay: day) == month)
    }

    @Test func countsRollOverByDayAndMonth() {
        var a = UsageCounts()
        a.add(.cover, up: 100, down: 7)
        a.add(.fetches, up: 5, down: 2000)
        var u = Usage(day: 20_786)   // 2026-11-29
        u.add(a, day: 20_786)
        u.add(a, day: 20_787)        // the next day: today starts again, the month goes on
        #expect(u.today == a && u.thisMonth.total == 2 * a.total)
        u.add(a, day: 20_789)        // 2026-12-01: a new month
        #expect(u.today == a && u.thisMonth == a && u.month == 24_323)
        #expect(Usage(encoded: u.encoded) == u && u.encoded.count == 176)
    }

    @Test func aBadRecordIsRefused() {
        var u = Usage(day: 20_790)
        var a = UsageCounts()
        a.add(.map, up: 1, down: 1)
        u.add(a, day: 20_790)
        var bytes = u.encoded
        #expect(Usage(encoded: Array(bytes.dropLast())) == nil)
        bytes[15] ^= 1                               // a month that is not the day's
        #expect(Usage(encoded: bytes) == nil)
        var more = u.encoded
        more[16 + 3 * 8 + 7] = 9                     // today's map bytes above the month's
        #expect(Usage(encoded: more) == nil)
    }
}
