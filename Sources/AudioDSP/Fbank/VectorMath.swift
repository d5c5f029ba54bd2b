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
        var a = V(), b = V(), j = 0
        while j + 16 <= count { a += load(p + j); b += load(p + j + 8); j += 16 }
        if j + 8 <= count { a += load(p + j); j += 8 }
        var s = (a + b).sum()
        while j < count { s += p[j]; j += 1 }
        return s
    }

    /// Sum of `(p[j] - mean)^2`.
    @inline(__always) static func sumOfSquares(_ p: UnsafePointer<Float>, minus mean: Float, count: Int) -> Float {
        let m = V(repeating: mean)
        var acc = V(), j = 0
        while j + 8 <= count { let v = load(p + j) - m; acc += v * v; j += 8 }
        var s = acc.sum()
        while j < count { let v = p[j] - mean; s += v * v; j += 1 }
        return s
    }

    /// `out[j] = (y[j] - c * y[max(j - 1, 0)]) * w[j]` with `y = x - mean`: DC removal,
    /// pre-emphasis and window in one pass, rounding as torch does step by step (`x - 0 == x`
    /// and `y - 0 * y' == y`, so a zero mean or coefficient changes nothing).
    @inline(__always)
    static func preemphasizeAndWindow(_ x: UnsafePointer<Float>, minus mean: Float, coefficient c: Float,
                                      window w: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>, count n: Int) {
        guard n > 0 else { return }
        let y0 = x[0] - mean
        out[0] = (y0 - c * y0) * w[0]
        let cv = V(repeating: c), mv = V(repeating: mean)
        var j = 1
        while j + 8 <= n {
            store(((load(x + j) - mv) - cv * (load(x + j - 1) - mv)) * load(w + j), out + j)
            j += 8
        }
        while j < n { out[j] = ((x[j] - mean) - c * (x[j - 1] - mean)) * w[j]; j += 1 }
    }

    /// `to[c * toStride + r] = from[r * fromStride + c]` for `r < rows`, `c < columns`: a
    /// transpose, done in 4 x 4 blocks of SSE shuffles (scalar at the edges).
    static func transpose(_ from: UnsafePointer<Float>, rows: Int, columns: Int, stride fromStride: Int,
                          into to: UnsafeMutablePointer<Float>, stride toStride: Int) {
        typealias V4 = SIMD4<Float>
        @inline(__always) func load4(_ p: UnsafePointer<Float>) -> V4 { UnsafeRawPointer(p).loadUnaligned(as: V4.self) }
        @inline(__always) func store4(_ v: V4, _ p: UnsafeMutablePointer<Float>) {
            UnsafeMutableRawPointer(p).storeBytes(of: v, as: V4.self)
        }
        var r = 0
        while r &+ 4 <= rows {
            let f = from + r &* fromStride, t = to + r
            var c = 0
            while c &+ 4 <= columns {
                let r0 = load4(f + c), r1 = load4(f + (fromStride &+ c))
                let r2 = load4(f + (2 &* fromStride &+ c)), r3 = load4(f + (3 &* fromStride &+ c))
                let d = t + c &* toStride
                store4(V4(r0[0], r1[0], r2[0], r3[0]), d)
                store4(V4(r0[1], r1[1], r2[1], r3[1]), d + toStride)
                store4(V4(r0[2], r1[2], r2[2], r3[2]), d + 2 &* toStride)
                store4(V4(r0[3], r1[3], r2[3], r3[3]), d + 3 &* toStride)
                c &+= 4
            }
            while c < columns {
                for i in 0..<4 { t[c &* toStride &+ i] = f[i &* fromStride &+ c] }
                c &+= 1
            }
            r &+= 4
        }
        while r < rows {
            for c in 0..<columns { to[c &* toStride &+ r] = from[r &* fromStride &+ c] }
            r &+= 1
        }
    }

    /// Natural logarithm of a positive, finite, normal float: FreeBSD's `logf` without its
    /// branches (`x = (1 + f) 2^e` with `1 + f` in `[sqrt(1/2), sqrt(2))`, `s = f / (2 + f)`,
    /// `log(1 + f) = 2 atanh(s)` by a degree-4 minimax polynomial in `s^2`, `ln 2` split in
    /// two). Within 0.92 ulp of the exact logarithm on every tested float from FLT_EPSILON to
    /// 1e12 (glibc's `logf`: 0.82). Branch-free and call-free so that loops over it vectorise
    /// (Swift's SIMD types lower this poorly without AVX); fewer operations than Cephes' degree-8
    /// polynomial, which took 25% longer here.
    @inline(__always) static func log(_ x: Float) -> Float {
        let bits = Int32(bitPattern: x.bitPattern)
        let e = (bits &- 0x3F35_04F3) &>> 23                // 0x3F3504F3: sqrt(1/2)
        let f = Float(bitPattern: UInt32(bitPattern: bits &- (e &<< 23))) - 1
        let fe = Float(e)
        let s = f / (2 + f)
        let z = s * s, w = z * z
        let r = z * (0.66666662693 + w * 0.28498786688) + w * (0.40000972152 + w * 0.24279078841)
        return fe * 6.9313812256e-01 - ((s * (f - r) - fe * 9.0580006145e-06) - f)
    }

    /// `p[j] = log(max(p[j], floor))` for `count` non-negative floats; `floor` must be a
    /// positive normal float. If any value is infinite or NaN the whole range takes the scalar
    /// `logf` path instead (giving what torch gives for those).
    @inline(__always) static func logFloored(_ p: UnsafeMutablePointer<Float>, count: Int, floor: Float) {
        var special: Int32 = 0
        for j in 0..<count {
            let bits = Int32(bitPattern: p[j].bitPattern)
            special |= 0x7F7F_FFFF &- bits                  // negative for inf, NaN (and negative values)
        }
        guard special >= 0 else {
            for j in 0..<count { p[j] = Foundation.log(Swift.max(p[j], floor)) }
            return
        }
        for j in 0..<count {
            let x = p[j]
            p[j] = log(x > floor ? x : floor)               // one maxps (no NaN here)
        }
    }
}
