import PosternSIMD

/// ChaCha's keystream eight blocks at a time (`ChaChaLanes<SIMD8<UInt32>>`), compiled for x86-64 CPUs with
/// AVX2 (this module alone is built with `-target-cpu haswell`; Package.swift). Only called after
/// `ChaCha20SIMD` has checked the CPU at run time (`psys_cpu_has_avx2`); never inlined into baseline code.
public enum ChaChaAVX2 {
    /// XORs the keystream from block position `position` into `count` bytes; `output` may equal `input`.
    @inline(never)
    public static func stream(_ setup: ChaChaSetup, position: UInt64, doubleRounds: Int, input: UnsafeRawPointer,
                              output: UnsafeMutableRawPointer, count: Int) {
        if doubleRounds == 6 {
            ChaChaLanes<SIMD8<UInt32>>.stream(setup, position: position, doubleRounds: 6, input: input, output: output, count: count)
        } else {
            ChaChaLanes<SIMD8<UInt32>>.stream(setup, position: position, doubleRounds: doubleRounds, input: input,
                                              output: output, count: count)
        }
    }
}
