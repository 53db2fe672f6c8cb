import PosternCrypto
import PosternSystem
import Testing

@Suite struct KeyAndEncodingTests {
    @Test func secretKeyCopiesAreIndependent() {
        var a = SecretKey(copying: [1, 2, 3, 4])
        let b = a.duplicate()
        let equalBefore = a.matches(b)
        a.withUnsafeMutableBytes { $0[0] = 9 }
        let equalAfter = a.matches(b)
        #expect(equalBefore && !equalAfter)
        #expect(b.exportBytes() == [1, 2, 3, 4])
    }

    @Test func randomKeysDiffer() {
        let same = SecretKey(randomBytes: 32).matches(SecretKey(randomBytes: 32))
        #expect(!same)
    }

    @Test func constantTimeEquality() {
        #expect(Memory.equal([1, 2, 3], [1, 2, 3]))
        #expect(!Memory.equal([1, 2, 3], [1, 2, 4]))
        #expect(!Memory.equal([1, 2], [1, 2, 3]))
    }

    @Test func wipeZeroes() {
        var bytes: [UInt8] = [1, 2, 3]
        Memory.wipe(&bytes)
        #expect(bytes == [0, 0, 0])
    }

    @Test func hexRoundTrip() {
        let bytes = Random.bytes(40)
        #expect(Hex.decode(Hex.encode(bytes)) == bytes)
        #expect(Hex.decode("0aFf") == [0x0a, 0xff])
        #expect(Hex.decode("abc") == nil)
        #expect(Hex.decode("zz") == nil)
    }

    @Test func fixedPointFormatting() {
        #expect(Format.fixed(3.14159, 2) == "3.14")
        #expect(Format.fixed(-0.5, 0) == "-1")
        #expect(Format.fixed(2.0, 3) == "2.000")
        #expect(Format.fixed(0.0625, 3) == "0.063")
        #expect(Format.number(1234.5678) == "1234.57")
        #expect(Format.number(0.001234) == "0.001234")
    }
}
