import PosternCrypto

/// Liveness from loop packets: each loop sent is expected back within a timeout; late ones count as lost.
/// Sustained loss (at least half of the last 20 loops) is reported, so an operator or user learns that
/// the network, or their gateway, is dropping traffic. Each loop keeps the mixes it went through, handed
/// back when it returns or is given up (for `HopHealth`).
public final class LoopMonitor {
    public let timeout: Double
    var outstanding: [[UInt8]: (sentAt: Double, path: [Bytes32])] = [:]
    public private(set) var sent = 0, returned = 0, lost = 0
    var recent: [Bool] = []
    public var onSustainedLoss: (Int) -> Void = { _ in }
    var warned = false

    public init(timeout: Double) { self.timeout = timeout }

    public func sent(_ id: [UInt8], at t: Double, through path: [Bytes32] = []) {
        outstanding[id] = (t, path)
        sent += 1
    }

    /// The path of `id` if it was an outstanding loop (now back); nil otherwise.
    @discardableResult
    public func returned(_ id: [UInt8]) -> [Bytes32]? {
        guard let loop = outstanding.removeValue(forKey: id) else { return nil }
        returned += 1
        record(true)
        return loop.path
    }

    /// Expires loops older than the timeout; returns their paths.
    @discardableResult
    public func check(now: Double) -> [[Bytes32]] {
        var expired: [[Bytes32]] = []
        for (id, loop) in outstanding where now - loop.sentAt > timeout {
            outstanding[id] = nil
            lost += 1
            record(false)
            expired.append(loop.path)
        }
        return expired
    }

    public var isOutstanding: Int { outstanding.count }

    func record(_ ok: Bool) {
        recent.append(ok)
        if recent.count > 20 { recent.removeFirst() }
        let losses = recent.filter { !$0 }.count
        if recent.count == 20 && losses >= 10 {
            if !warned { warned = true; onSustainedLoss(losses) }
        } else if losses < 5 {
            warned = false
        }
    }
}

/// Kolmogorov–Smirnov test of samples against an exponential distribution.
public enum KolmogorovSmirnov {
    /// (statistic D, asymptotic p-value) for `samples` against Exp(rate).
    public static func exponential(_ samples: [Double], rate: Double) -> (d: Double, p: Double) {
        let sorted = samples.sorted()
        let n = Double(sorted.count)
        var d = 0.0
        for (i, x) in sorted.enumerated() {
            let f = 1 - expNeg(rate * x)
            d = max(d, max(Double(i + 1) / n - f, f - Double(i) / n))
        }
        return (d, pValue(d, n: n))
    }

    static func expNeg(_ x: Double) -> Double { PosternExp.exp(-x) }

    /// P(K > t√n …) with the Kolmogorov distribution's series, using Stephens' small-sample correction.
    static func pValue(_ d: Double, n: Double) -> Double {
        let sq = n.squareRoot()
        let t = (sq + 0.12 + 0.11 / sq) * d
        var sum = 0.0
        for k in 1...100 {
            let term = 2 * (k % 2 == 1 ? 1.0 : -1.0) * PosternExp.exp(-2 * Double(k * k) * t * t)
            sum += term
            if abs(term) < 1e-12 { break }
        }
        return min(1, max(0, sum))
    }
}
