import PosternSystem

enum PosternExp {
    static func exp(_ x: Double) -> Double { Exponential.exp(x) }
}
