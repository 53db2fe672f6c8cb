import PosternSystem

/// The SVG of `postern simulate anonymity --sweep --svg FILE`: four panels, entropy and latency against
/// the per-hop mean delay (log scale) and against the clients' packet rate, each run a point on a line,
/// the two named modes marked. Plain SVG 1.1, viewable in any browser.
public struct AnonymityPlot {
    public struct Point {
        public var x: Double
        public var report: AnonymitySimulation.Report
        public init(x: Double, report: AnonymitySimulation.Report) { self.x = x; self.report = report }
    }

    public var delaySweep: [Point] = []
    public var coverSweep: [Point] = []
    /// (name, delay ms, packets/s, report) of each named mode.
    public var modes: [(name: String, delayMillis: Double, rate: Double, report: AnonymitySimulation.Report)] = []
    public var title = ""

    public init() {}

    static let panelWidth = 420.0, panelHeight = 260.0, margin = 56.0

    public var svg: String {
        let w = 2 * (Self.panelWidth + Self.margin) + Self.margin, h = 2 * (Self.panelHeight + Self.margin) + Self.margin + 24
        var out = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(w))\" height=\"\(Int(h))\" font-family=\"sans-serif\" font-size=\"12\">\n"
        out += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        out += "<text x=\"\(Int(Self.margin))\" y=\"20\" font-size=\"14\">\(Self.escape(title))</text>\n"
        let entropy: (AnonymitySimulation.Report) -> [Double] = { [$0.endToEnd] }
        let latency: (AnonymitySimulation.Report) -> [Double] = { [$0.latencyP50, $0.latencyP99] }
        out += panel(col: 0, row: 0, points: delaySweep, logX: true, xLabel: "per-hop mean delay (ms)", yLabel: "end-to-end entropy (bits)",
                     series: ["entropy"], value: entropy, modeX: { $0.delayMillis })
        out += panel(col: 0, row: 1, points: delaySweep, logX: true, xLabel: "per-hop mean delay (ms)", yLabel: "latency (s)",
                     series: ["median", "99th percentile"], value: latency, modeX: { $0.delayMillis })
        out += panel(col: 1, row: 0, points: coverSweep, logX: true, xLabel: "client packets per second (all streams)",
                     yLabel: "end-to-end entropy (bits)", series: ["entropy"], value: entropy, modeX: { $0.rate })
        out += panel(col: 1, row: 1, points: coverSweep, logX: true, xLabel: "client packets per second (all streams)", yLabel: "latency (s)",
                     series: ["median", "99th percentile"], value: latency, modeX: { $0.rate })
        return out + "</svg>\n"
    }

    static let colours = ["#1f77b4", "#d62728"]

    func panel(col: Int, row: Int, points: [Point], logX: Bool, xLabel: String, yLabel: String, series: [String],
               value: (AnonymitySimulation.Report) -> [Double],
               modeX: ((name: String, delayMillis: Double, rate: Double, report: AnonymitySimulation.Report)) -> Double) -> String {
        let x0 = Self.margin + Double(col) * (Self.panelWidth + Self.margin), y0 = 32 + Self.margin / 2 + Double(row) * (Self.panelHeight + Self.margin)
        let xs = points.map { $0.x } + modes.map(modeX)
        let ys = points.flatMap { value($0.report) } + modes.flatMap { value($0.report) }
        guard let xMin = xs.min(), let xMax = xs.max(), let yMaxRaw = ys.max() else { return "" }
        let yMax = Self.niceCeiling(yMaxRaw)
        func fx(_ x: Double) -> Double {
            let t = logX ? (Exponential.ln(x) - Exponential.ln(xMin)) / max(1e-9, Exponential.ln(xMax) - Exponential.ln(xMin))
                         : (x - xMin) / max(1e-9, xMax - xMin)
            return x0 + t * Self.panelWidth
        }
        func fy(_ y: Double) -> Double { y0 + Self.panelHeight - y / yMax * Self.panelHeight }
        var s = "<g>\n<rect x=\"\(f(x0))\" y=\"\(f(y0))\" width=\"\(f(Self.panelWidth))\" height=\"\(f(Self.panelHeight))\" fill=\"none\" stroke=\"#888\"/>\n"
        for i in 0...4 {
            let y = yMax * Double(i) / 4
            s += "<line x1=\"\(f(x0))\" x2=\"\(f(x0 + Self.panelWidth))\" y1=\"\(f(fy(y)))\" y2=\"\(f(fy(y)))\" stroke=\"#eee\"/>"
            s += "<text x=\"\(f(x0 - 6))\" y=\"\(f(fy(y) + 4))\" text-anchor=\"end\">\(Format.number(y, significant: 3))</text>\n"
        }
        for x in Set(points.map { $0.x }).sorted() {
            s += "<text x=\"\(f(fx(x)))\" y=\"\(f(y0 + Self.panelHeight + 16))\" text-anchor=\"middle\">\(Format.number(x, significant: 3))</text>\n"
        }
        s += "<text x=\"\(f(x0 + Self.panelWidth / 2))\" y=\"\(f(y0 + Self.panelHeight + 34))\" text-anchor=\"middle\">\(Self.escape(xLabel))</text>\n"
        s += "<text transform=\"translate(\(f(x0 - 40)),\(f(y0 + Self.panelHeight / 2))) rotate(-90)\" text-anchor=\"middle\">\(Self.escape(yLabel))</text>\n"
        for (i, name) in series.enumerated() {
            let colour = Self.colours[i % Self.colours.count]
            let path = points.map { "\(f(fx($0.x))),\(f(fy(value($0.report)[i])))" }.joined(separator: " ")
            s += "<polyline points=\"\(path)\" fill=\"none\" stroke=\"\(colour)\" stroke-width=\"2\"/>\n"
            for p in points { s += "<circle cx=\"\(f(fx(p.x)))\" cy=\"\(f(fy(value(p.report)[i])))\" r=\"3\" fill=\"\(colour)\"/>" }
            s += "\n<text x=\"\(f(x0 + 8))\" y=\"\(f(y0 + 16 + Double(i) * 14))\" fill=\"\(colour)\">\(Self.escape(name))</text>\n"
        }
        for m in modes {
            for v in value(m.report) {
                let cx = fx(modeX(m)), cy = fy(v)
                s += "<rect x=\"\(f(cx - 5))\" y=\"\(f(cy - 5))\" width=\"10\" height=\"10\" fill=\"none\" stroke=\"black\" stroke-width=\"1.5\"/>"
                s += "<text x=\"\(f(cx + 8))\" y=\"\(f(cy - 6))\">\(Self.escape(m.name))</text>\n"
            }
        }
        return s + "</g>\n"
    }

    func f(_ v: Double) -> String { Format.fixed(v, 1) }

    /// 1, 2 or 5 × a power of ten, at least `v`.
    static func niceCeiling(_ v: Double) -> Double {
        guard v > 0 else { return 1 }
        var p = 1.0
        while p * 10 < v { p *= 10 }
        while p > v { p /= 10 }
        for m in [1.0, 2.0, 5.0, 10.0] where m * p >= v { return m * p }
        return 10 * p
    }

    static func escape(_ text: String) -> String {
        var out = ""
        for c in text {
            switch c {
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "&": out += "&amp;"
            default: out.append(c)
            }
        }
        return out
    }
}
