import Foundation

/// Small vectorised float32 kernels for the fbank (SIMD8 over raw pointers, scalar tails).
enum VectorMath {
    typealias V = SIMD8<Float>

    @inline(__always) static func load(_ p: UnsafePointer<Float>) -> V {
        UnsafeRawPointer(p).loadUnaligned(as: V.self)
    }

    @inline(__always) static func store(_ v: V, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: V.self)
    }

    /// Sum of `count` floats.
    @inline(__always) static func sum(_ p: UnsafePointer<Float>, count: Int) -> Float {
        var acc = V(), j = 0
        while j + 8 <= count { acc += load(p + j); j += 8 }
        var s = acc.sum()
        while j < count { s += p[j]; j += 1 }
        return s
    }

    /// Sum of squares of `count` floats.
    @inline(__always) static func sumOfSquares(_ p: UnsafePointer<Float>, count: Int) -> Float {
        var acc = V(), j = 0
        while j + 8 <= count { let v = load(p + j); acc += v * v; j += 8 }
        var s = acc.sum()
        while j < count { s += p[j] * p[j]; j += 1 }
        return s
    }

    /// `p[j] -= value`.
    @inline(__always) static func subtract(_ value: Float, from p: UnsafeMutablePointer<Float>, count: Int) {
        let m = V(repeating: value)
        var j = 0
        while j + 8 <= count { store(load(p + j) - m, p + j); j += 8 }
        while j < count { p[j] -= value; j += 1 }
    }

    /// `out[j] = (x[j] - c * x[max(j - 1, 0)]) * w[j]` (pre-emphasis then window; c = 0 skips
    /// nothing but changes nothing, as `x - 0 * y == x`).
    @inline(__always)
    static func preemphasizeAndWindow(_ x: UnsafePointer<Float>, coefficient c: Float, window w: UnsafePointer<Float>,
                                      into out: UnsafeMutablePointer<Float>, count n: Int) {
        guard n > 0 else { return }
        out[0] = (x[0] - c * x[0]) * w[0]
        let cv = V(repeating: c)
        var j = 1
        while j + 8 <= n {
            store((load(x + j) - cv * load(x + j - 1)) * load(w + j), out + j)
            j += 8
        }
        while j < n { out[j] = (x[j] - c * x[j - 1]) * w[j]; j += 1 }
    }

    /// `out[k] = re[k]^2 + im[k]^2` for `count` interleaved complex values (power), or its
    /// square root (magnitude).
    @inline(__always)
    static func powerSpectrum(_ c: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>, count: Int, magnitude: Bool) {
        var k = 0
        while k + 8 <= count {
            let a = load(c + 2 * k), b = load(c + 2 * k + 8)
            let re = V(a[0], a[2], a[4], a[6], b[0], b[2], b[4], b[6])
            let im = V(a[1], a[3], a[5], a[7], b[1], b[3], b[5], b[7])
            var p = re * re + im * im
            if magnitude { p = p.squareRoot() }
            store(p, out + k)
            k += 8
        }
        while k < count {
            let re = c[2 * k], im = c[2 * k + 1]
            let p = re * re + im * im
            out[k] = magnitude ? p.squareRoot() : p
            k += 1
        }
    }

    /// Dot product of `count` floats.
    @inline(__always) static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
        var s: Float = 0
        for k in 0..<count { s += a[k] * b[k] }
        return s
    }

    /// `p[j] = log(max(p[j], floor))`.
    @inline(__always) static func logFloored(_ p: UnsafeMutablePointer<Float>, count: Int, floor: Float) {
        for j in 0..<count { p[j] = log(max(p[j], floor)) }
    }
}
