import CSystem

/// What the processor offers beyond the baseline the shipped code is compiled for.
public enum CPU {
    /// True on an x86-64 CPU (and kernel) with AVX2; always false on ARM. Asked once per process.
    public static let hasAVX2: Bool = psys_cpu_has_avx2() == 1
}
