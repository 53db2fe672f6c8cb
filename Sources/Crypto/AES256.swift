/// AES-256 (FIPS-197) for single blocks, bitsliced: no table lookups and no branches that depend on the key
/// or the data, so it runs in constant time on CPUs without AES instructions (a Raspberry Pi 4's
/// Cortex-A72 has none). Adiantum needs exactly one block per message; the key schedule is computed per
/// key, also bitsliced.
///
/// Representation: a 16-byte block is eight 16-bit planes; bit `i` of plane `b` is bit `b` of byte `i`
/// (bytes in FIPS-197 order, so byte `i` is row `i % 4`, column `i / 4`). SubBytes is Boyar and
/// Peralta's straight-line program for the S-box ("A new combinational logic minimization technique with
/// applications to cryptology", SEA 2010: 32 AND and 83 XOR/XNOR gates), evaluated on all sixteen bytes at
/// once; ShiftRows and MixColumns are shifts and masks inside a plane. The inverse S-box reuses the same
/// circuit between two affine maps: InvS(y) = L(S(L(y) ⊕ 05)) ⊕ 05, with L the linear part of FIPS-197's
/// inverse affine transformation. Tests compare every S-box value with one computed from GF(2⁸)
/// inversion, and whole blocks with the FIPS-197 and Adiantum reference vectors.
public enum AES256 {
    public static let keyBytes = 32
    public static let blockBytes = 16
    /// 15 round keys × 8 planes × 4 bytes.
    public static let scheduleBytes = 15 * 8 * 4

    /// Eight bit planes of one block (only the low 16 bits of each word are meaningful).
    @usableFromInline
    struct State {
        @usableFromInline var b0, b1, b2, b3, b4, b5, b6, b7: UInt32

        @inline(__always) @usableFromInline
        init(_ b0: UInt32, _ b1: UInt32, _ b2: UInt32, _ b3: UInt32, _ b4: UInt32, _ b5: UInt32, _ b6: UInt32, _ b7: UInt32) {
            self.b0 = b0; self.b1 = b1; self.b2 = b2; self.b3 = b3; self.b4 = b4; self.b5 = b5; self.b6 = b6; self.b7 = b7
        }

        @inline(__always) @usableFromInline
        func map(_ f: (UInt32) -> UInt32) -> State {
            State(f(b0), f(b1), f(b2), f(b3), f(b4), f(b5), f(b6), f(b7))
        }

        @inline(__always) @usableFromInline
        static func ^ (a: State, b: State) -> State {
            State(a.b0 ^ b.b0, a.b1 ^ b.b1, a.b2 ^ b.b2, a.b3 ^ b.b3, a.b4 ^ b.b4, a.b5 ^ b.b5, a.b6 ^ b.b6, a.b7 ^ b.b7)
        }
    }

    // MARK: Public entry points

    /// Writes the bitsliced round keys for `key` (32 bytes) into `schedule` (`scheduleBytes`): what
    /// decryption needs, since it uses the round keys last to first.
    public static func expand(key: UnsafeRawPointer, into schedule: UnsafeMutableRawPointer) {
        var previous2 = Quad(load(key)), previous = Quad(load(key + 16))
        previous2.store(schedule, 0)
        previous.store(schedule, 1)
        var rcon: UInt32 = 1
        for r in 2...14 {
            let word = Quad(substitute(previous.lastColumn(round: r).planes)).map { $0 & 0x0000_000f_0000_000f }
            let next = previous2.nextRoundKey(word, round: r, rcon: &rcon)
            next.store(schedule, r)
            previous2 = previous
            previous = next
        }
    }

    /// Encrypts one block in place under `key` (32 bytes), expanding the key on the fly: each round's S-box
    /// layer substitutes the sixteen state bytes (bits 0–15 of each plane) and the key schedule's next
    /// SubWord (bits 16–19) together, so a block costs 14 S-box evaluations instead of 27, and no schedule
    /// is stored. This is the relay's path (Adiantum encryption needs only the forward cipher). Between
    /// S-box layers the planes travel two to a 64-bit word (`Quad`), which halves the linear layers' work.
    @inline(__always)
    public static func encrypt(key: UnsafeRawPointer, block: UnsafeMutableRawPointer) {
        var previous2 = Quad(load(key)), previous = Quad(load(key + 16))
        var s = Quad(load(block)) ^ previous2
        var rcon: UInt32 = 1
        for r in 1...14 {
            // Round 1's key (the key's second half) needs no SubWord; its S-box lanes 16–19 go unused.
            let word = r == 1 ? Quad() : previous.lastColumn(round: r)
            let both = Quad(substitute((s | word.shifted16).planes))
            let key = r == 1 ? previous : previous2.nextRoundKey(both.keyWord, round: r, rcon: &rcon)
            s = r < 14 ? both.shiftRows.mixColumns ^ key : both.shiftRows ^ key
            if r > 1 {
                previous2 = previous
                previous = key
            }
        }
        store(s.planes, block)
    }

    /// Eight bit planes two to a word: word k holds plane k in bits 0–31 and plane k+4 in bits 32–63
    /// (each plane's block bits in 0–15 of its half).
    @usableFromInline
    struct Quad {
        @usableFromInline var w0: UInt64 = 0, w1: UInt64 = 0, w2: UInt64 = 0, w3: UInt64 = 0

        @inline(__always) @usableFromInline
        init() {}

        @inline(__always) @usableFromInline
        init(_ w0: UInt64, _ w1: UInt64, _ w2: UInt64, _ w3: UInt64) {
            self.w0 = w0; self.w1 = w1; self.w2 = w2; self.w3 = w3
        }

        @inline(__always) @usableFromInline
        init(_ s: State) {
            self.init(UInt64(s.b0) | UInt64(s.b4) << 32, UInt64(s.b1) | UInt64(s.b5) << 32,
                      UInt64(s.b2) | UInt64(s.b6) << 32, UInt64(s.b3) | UInt64(s.b7) << 32)
        }

        @inline(__always) @usableFromInline
        var planes: State {
            State(UInt32(truncatingIfNeeded: w0), UInt32(truncatingIfNeeded: w1), UInt32(truncatingIfNeeded: w2),
                  UInt32(truncatingIfNeeded: w3), UInt32(truncatingIfNeeded: w0 >> 32), UInt32(truncatingIfNeeded: w1 >> 32),
                  UInt32(truncatingIfNeeded: w2 >> 32), UInt32(truncatingIfNeeded: w3 >> 32))
        }

        /// Round key r of an expanded schedule (four words per round key).
        @inline(__always) @usableFromInline
        init(_ schedule: UnsafeRawPointer, _ r: Int) {
            let p = schedule + 32 * r
            self.init(p.load(as: UInt64.self), p.load(fromByteOffset: 8, as: UInt64.self),
                      p.load(fromByteOffset: 16, as: UInt64.self), p.load(fromByteOffset: 24, as: UInt64.self))
        }

        func store(_ schedule: UnsafeMutableRawPointer, _ r: Int) {
            let p = schedule + 32 * r
            p.storeBytes(of: w0, as: UInt64.self); p.storeBytes(of: w1, toByteOffset: 8, as: UInt64.self)
            p.storeBytes(of: w2, toByteOffset: 16, as: UInt64.self); p.storeBytes(of: w3, toByteOffset: 24, as: UInt64.self)
        }

        @inline(__always) @usableFromInline
        func map(_ f: (UInt64) -> UInt64) -> Quad { Quad(f(w0), f(w1), f(w2), f(w3)) }

        @inline(__always) @usableFromInline
        static func ^ (a: Quad, b: Quad) -> Quad { Quad(a.w0 ^ b.w0, a.w1 ^ b.w1, a.w2 ^ b.w2, a.w3 ^ b.w3) }

        @inline(__always) @usableFromInline
        static func | (a: Quad, b: Quad) -> Quad { Quad(a.w0 | b.w0, a.w1 | b.w1, a.w2 | b.w2, a.w3 | b.w3) }

        @usableFromInline static let low16: UInt64 = 0x0000_ffff_0000_ffff

        /// Row r moves left by r columns: inside a plane, the row's bits (r, r+4, r+8, r+12) rotate right by
        /// 4r within 16 bits. With the plane doubled into 32 bits (y = x ‖ x, inside each half of the word), a
        /// 16-bit rotation is one shift, and each row a shift and a mask (one AArch64 `and` with a shifted
        /// operand). Bits 16–31 of each half are ignored on input and clear on output.
        @inline(__always) @usableFromInline
        var shiftRows: Quad {
            map { x in
                let y = (x & Quad.low16) &* 0x1_0001
                return (y & 0x0000_1111_0000_1111) | ((y >> 4) & 0x0000_2222_0000_2222)
                    | ((y >> 8) & 0x0000_4444_0000_4444) | ((y >> 12) & 0x0000_8888_0000_8888)
            }
        }

        /// The inverse: row r rotates left by 4r, i.e. right by 16 − 4r.
        @inline(__always) @usableFromInline
        var invShiftRows: Quad {
            map { x in
                let y = (x & Quad.low16) &* 0x1_0001
                return (y & 0x0000_1111_0000_1111) | ((y >> 12) & 0x0000_2222_0000_2222)
                    | ((y >> 8) & 0x0000_4444_0000_4444) | ((y >> 4) & 0x0000_8888_0000_8888)
            }
        }

        /// Each byte takes the byte one row down in its column (row 3 takes row 0).
        @inline(__always) @usableFromInline
        static func rotate1(_ x: UInt64) -> UInt64 {
            ((x >> 1) & 0x0000_7777_0000_7777) | ((x << 3) & 0x0000_8888_0000_8888)
        }

        @inline(__always) @usableFromInline
        static func rotate2(_ x: UInt64) -> UInt64 {
            ((x >> 2) & 0x0000_3333_0000_3333) | ((x << 2) & 0x0000_cccc_0000_cccc)
        }

        /// Multiplication by x (02) in GF(2⁸) mod x⁸+x⁴+x³+x+1: planes (b7, b0⊕b7, b1, b2⊕b7, b3⊕b7, b4, b5,
        /// b6), paired as in `Quad`.
        @inline(__always) @usableFromInline
        var times2: Quad {
            let b7 = w3 >> 32
            return Quad(((w3 >> 32) | (w3 << 32)) ^ (w3 & 0xffff_ffff_0000_0000), w0 ^ b7, w1, w2 ^ b7)
        }

        /// b_r = 2·a_r ⊕ 3·a_{r+1} ⊕ a_{r+2} ⊕ a_{r+3} = 2·(a_r ⊕ a_{r+1}) ⊕ a_{r+1} ⊕ rot2(a_r ⊕ a_{r+1}).
        @inline(__always) @usableFromInline
        var mixColumns: Quad {
            let r1 = map(Quad.rotate1)
            let t = self ^ r1
            return t.times2 ^ r1 ^ t.map(Quad.rotate2)
        }

        /// InvMixColumns = MixColumns after adding 4·(a_r ⊕ a_{r+2}) to every byte.
        @inline(__always) @usableFromInline
        var invMixColumns: Quad {
            let u = (self ^ map(Quad.rotate2)).times2.times2
            return (self ^ u).mixColumns
        }

        /// SubWord's input for round key r: the last word (column 3, bits 12–15) of round key r−1 moved to
        /// column 0, rotated (RotWord: row i takes row i+1) when r is even.
        @inline(__always) @usableFromInline
        func lastColumn(round r: Int) -> Quad {
            let t = map { ($0 >> 12) & 0x0000_000f_0000_000f }
            return r & 1 == 0 ? t.map { (($0 >> 1) & 0x0000_0007_0000_0007) | (($0 << 3) & 0x0000_0008_0000_0008) } : t
        }

        @inline(__always) @usableFromInline
        var shifted16: Quad { map { $0 << 16 } }

        /// SubWord's output, from bits 16–19 of an S-box layer's result back to column 0.
        @inline(__always) @usableFromInline
        var keyWord: Quad { map { ($0 >> 16) & 0x0000_000f_0000_000f } }

        /// Round key r from round key r−2 (self) and SubWord's output `word` (column 0 only): Rcon enters row 0
        /// when r is even (bit k into plane k; Rcon is public, so branching on it leaks nothing), then
        /// w[j] = w[j−8] ⊕ w[j−1] along the four columns is a prefix XOR over columns.
        @inline(__always) @usableFromInline
        func nextRoundKey(_ word: Quad, round r: Int, rcon: inout UInt32) -> Quad {
            var t = word
            if r & 1 == 0 {
                let c = UInt64(rcon)  // public constants
                t = Quad(t.w0 ^ (c & 1) ^ ((c >> 4) & 1) << 32, t.w1 ^ ((c >> 1) & 1) ^ ((c >> 5) & 1) << 32,
                         t.w2 ^ ((c >> 2) & 1) ^ ((c >> 6) & 1) << 32, t.w3 ^ ((c >> 3) & 1) ^ ((c >> 7) & 1) << 32)
                rcon = (rcon << 1) ^ (0x11b & (0 &- (rcon >> 7)))
            }
            return (self ^ t).map { x in
                let y = x ^ (x << 4)
                return (y ^ (y << 8)) & Quad.low16
            }
        }
    }

    /// Decrypts one block in place with an expanded schedule.
    @inline(__always)
    public static func decrypt(schedule: UnsafeRawPointer, block: UnsafeMutableRawPointer) {
        var s = Quad(invSubstitute((Quad(load(block)) ^ Quad(schedule, 14)).invShiftRows.planes))
        for r in stride(from: 13, through: 1, by: -1) {
            s = Quad(invSubstitute((s ^ Quad(schedule, r)).invMixColumns.invShiftRows.planes))
        }
        store((s ^ Quad(schedule, 0)).planes, block)
    }

    /// Array forms for tests and the self-test.
    public static func encrypt(key: [UInt8], _ block: [UInt8]) -> [UInt8] { run(key, block, decrypting: false) }
    public static func decrypt(key: [UInt8], _ block: [UInt8]) -> [UInt8] { run(key, block, decrypting: true) }

    /// The bitsliced S-box (or its inverse) applied to each of 16 bytes: lets tests check every value.
    public static func substitute(_ bytes: [UInt8], inverse: Bool = false) -> [UInt8] {
        precondition(bytes.count == blockBytes)
        var out = bytes
        out.withUnsafeMutableBytes { p in
            let s = load(p.baseAddress!)
            store(inverse ? invSubstitute(s) : substitute(s), p.baseAddress!)
        }
        return out
    }

    static func run(_ key: [UInt8], _ block: [UInt8], decrypting: Bool) -> [UInt8] {
        precondition(key.count == keyBytes && block.count == blockBytes)
        var out = block
        var schedule = [UInt8](repeating: 0, count: scheduleBytes)
        key.withUnsafeBytes { k in schedule.withUnsafeMutableBytes { s in out.withUnsafeMutableBytes { b in
            if decrypting {
                expand(key: k.baseAddress!, into: s.baseAddress!)
                decrypt(schedule: s.baseAddress!, block: b.baseAddress!)
            } else {
                encrypt(key: k.baseAddress!, block: b.baseAddress!)
            }
        } } }
        Memory.wipe(&schedule)
        return out
    }

    // MARK: Bit planes

    /// Transposes an 8×8 bit matrix held in a word (byte j = row j): afterwards byte b holds bit b of
    /// every input byte. Its own inverse.
    @inline(__always) @usableFromInline
    static func transpose(_ value: UInt64) -> UInt64 {
        var x = value
        var t = (x ^ (x >> 7)) & 0x00aa_00aa_00aa_00aa
        x ^= t ^ (t << 7)
        t = (x ^ (x >> 14)) & 0x0000_cccc_0000_cccc
        x ^= t ^ (t << 14)
        t = (x ^ (x >> 28)) & 0x0000_0000_f0f0_f0f0
        x ^= t ^ (t << 28)
        return x
    }

    @inline(__always) @usableFromInline
    static func load(_ p: UnsafeRawPointer) -> State {
        let lo = transpose(UInt64(littleEndian: p.loadUnaligned(as: UInt64.self)))
        let hi = transpose(UInt64(littleEndian: p.loadUnaligned(fromByteOffset: 8, as: UInt64.self)))
        @inline(__always) func plane(_ b: UInt64) -> UInt32 {
            UInt32(truncatingIfNeeded: (lo >> (8 * b)) & 0xff) | UInt32(truncatingIfNeeded: (hi >> (8 * b)) & 0xff) << 8
        }
        return State(plane(0), plane(1), plane(2), plane(3), plane(4), plane(5), plane(6), plane(7))
    }

    @inline(__always) @usableFromInline
    static func store(_ s: State, _ p: UnsafeMutableRawPointer) {
        @inline(__always) func half(_ shift: UInt32) -> UInt64 {
            var x: UInt64 = 0
            x |= UInt64((s.b0 >> shift) & 0xff)
            x |= UInt64((s.b1 >> shift) & 0xff) << 8
            x |= UInt64((s.b2 >> shift) & 0xff) << 16
            x |= UInt64((s.b3 >> shift) & 0xff) << 24
            x |= UInt64((s.b4 >> shift) & 0xff) << 32
            x |= UInt64((s.b5 >> shift) & 0xff) << 40
            x |= UInt64((s.b6 >> shift) & 0xff) << 48
            x |= UInt64((s.b7 >> shift) & 0xff) << 56
            return transpose(x)
        }
        p.storeBytes(of: half(0).littleEndian, as: UInt64.self)
        p.storeBytes(of: half(8).littleEndian, toByteOffset: 8, as: UInt64.self)
    }

    // MARK: S-box and its inverse

    /// The linear part of FIPS-197's inverse affine map: bit i = bits (i+2) ⊕ (i+5) ⊕ (i+7).
    @inline(__always) @usableFromInline
    static func inverseAffineLinear(_ s: State) -> State {
        State(s.b2 ^ s.b5 ^ s.b7, s.b3 ^ s.b6 ^ s.b0, s.b4 ^ s.b7 ^ s.b1, s.b5 ^ s.b0 ^ s.b2,
              s.b6 ^ s.b1 ^ s.b3, s.b7 ^ s.b2 ^ s.b4, s.b0 ^ s.b3 ^ s.b5, s.b1 ^ s.b4 ^ s.b6)
    }

    @inline(__always) @usableFromInline
    static func invSubstitute(_ s: State) -> State {
        var x = inverseAffineLinear(s)
        x.b0 = ~x.b0; x.b2 = ~x.b2                                   // ⊕ 05
        var y = inverseAffineLinear(substitute(x))
        y.b0 = ~y.b0; y.b2 = ~y.b2
        return y
    }

    /// Boyar–Peralta's S-box circuit. Inputs U0…U7 are bits 7…0 of each byte; outputs S0…S7 likewise.
    @inline(__always) @usableFromInline
    static func substitute(_ s: State) -> State {
        let u0 = s.b7, u1 = s.b6, u2 = s.b5, u3 = s.b4, u4 = s.b3, u5 = s.b2, u6 = s.b1, u7 = s.b0
        // Top linear layer.
        let y14 = u3 ^ u5, y13 = u0 ^ u6, y9 = u0 ^ u3, y8 = u0 ^ u5
        let t0 = u1 ^ u2
        let y1 = t0 ^ u7, y4 = y1 ^ u3, y12 = y13 ^ y14
        let y2 = y1 ^ u0, y5 = y1 ^ u6, y3 = y5 ^ y8
        let t1 = u4 ^ y12
        let y15 = t1 ^ u5, y20 = t1 ^ u1
        let y6 = y15 ^ u7, y10 = y15 ^ t0, y11 = y20 ^ y9
        let y7 = u7 ^ y11, y17 = y10 ^ y11, y19 = y10 ^ y8, y16 = t0 ^ y11
        let y21 = y13 ^ y16, y18 = u0 ^ y16
        // Non-linear middle: inversion in GF(2⁸) through GF(2⁴).
        let t2 = y12 & y15, t3 = y3 & y6, t4 = t3 ^ t2, t5 = y4 & u7, t6 = t5 ^ t2
        let t7 = y13 & y16, t8 = y5 & y1, t9 = t8 ^ t7, t10 = y2 & y7, t11 = t10 ^ t7
        let t12 = y9 & y11, t13 = y14 & y17, t14 = t13 ^ t12, t15 = y8 & y10, t16 = t15 ^ t12
        let t17 = t4 ^ t14, t18 = t6 ^ t16, t19 = t9 ^ t14, t20 = t11 ^ t16
        let t21 = t17 ^ y20, t22 = t18 ^ y19, t23 = t19 ^ y21, t24 = t20 ^ y18
        let t25 = t21 ^ t22, t26 = t21 & t23, t27 = t24 ^ t26, t28 = t25 & t27, t29 = t28 ^ t22
        let t30 = t23 ^ t24, t31 = t22 ^ t26, t32 = t31 & t30, t33 = t32 ^ t24
        let t34 = t23 ^ t33, t35 = t27 ^ t33, t36 = t24 & t35, t37 = t36 ^ t34
        let t38 = t27 ^ t36, t39 = t29 & t38, t40 = t25 ^ t39
        let t41 = t40 ^ t37, t42 = t29 ^ t33, t43 = t29 ^ t40, t44 = t33 ^ t37, t45 = t42 ^ t41
        let z0 = t44 & y15, z1 = t37 & y6, z2 = t33 & u7, z3 = t43 & y16, z4 = t40 & y1, z5 = t29 & y7
        let z6 = t42 & y11, z7 = t45 & y17, z8 = t41 & y10, z9 = t44 & y12, z10 = t37 & y3, z11 = t33 & y4
        let z12 = t43 & y13, z13 = t40 & y5, z14 = t29 & y2, z15 = t42 & y9, z16 = t45 & y14, z17 = t41 & y8
        // Bottom linear layer.
        let t46 = z15 ^ z16, t47 = z10 ^ z11, t48 = z5 ^ z13, t49 = z9 ^ z10, t50 = z2 ^ z12
        let t51 = z2 ^ z5, t52 = z7 ^ z8, t53 = z0 ^ z3, t54 = z6 ^ z7, t55 = z16 ^ z17
        let t56 = z12 ^ t48, t57 = t50 ^ t53, t58 = z4 ^ t46, t59 = z3 ^ t54, t60 = t46 ^ t57
        let t61 = z14 ^ t57, t62 = t52 ^ t58, t63 = t49 ^ t58, t64 = z4 ^ t59, t65 = t61 ^ t62, t66 = z1 ^ t63
        let s0 = t59 ^ t63, s6 = ~(t56 ^ t62), s7 = ~(t48 ^ t60)
        let t67 = t64 ^ t65
        let s3 = t53 ^ t66, s4 = t51 ^ t66, s5 = t47 ^ t65
        let s1 = ~(t64 ^ s3), s2 = ~(t55 ^ t67)
        return State(s7, s6, s5, s4, s3, s2, s1, s0)
    }
}
