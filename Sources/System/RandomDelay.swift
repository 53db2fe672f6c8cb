import CSystem

/// Exponentially distributed delays (Loopix/Poisson mixing): −ln(U) × mean, U uniform in (0, 1].
public enum Exponential {
    /// `uniform53` is 53 random bits (e.g. from the CSPRNG).
    public static func sample(mean: Double, uniform53: UInt64) -> Double {
        let u = (Double(uniform53 & ((1 << 53) - 1)) + 1) / 9_007_199_254_740_992.0
        return -psys_ln(u) * mean
    }

    public static func ln(_ x: Double) -> Double { psys_ln(x) }
    public static func exp(_ x: Double) -> Double { psys_exp(x) }
}
