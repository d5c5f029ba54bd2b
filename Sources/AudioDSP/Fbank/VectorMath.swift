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

    /// Power (`re^2 + im^2`) or magnitude of `count` interleaved complex values, written with a
    /// stride of 8 floats: `out[8 k]` (one lane of a transposed batch).
    @inline(__always)
    static func powerSpectrum(_ c: UnsafePointer<Float>, intoStride8 out: UnsafeMutablePointer<Float>,
                              count: Int, magnitude: Bool) {
        var k = 0
        while k + 8 <= count {
            let v = UnsafeRawPointer(c + 2 * k).loadUnaligned(as: SIMD16<Float>.self)
            let re = v.evenHalf, im = v.oddHalf
            var p = re * re + im * im
            if magnitude { p = p.squareRoot() }
            for i in 0..<8 { out[8 * (k + i)] = p[i] }
            k += 8
        }
        while k < count {
            let re = c[2 * k], im = c[2 * k + 1]
            let p = re * re + im * im
            out[8 * k] = magnitude ? p.squareRoot() : p
            k += 1
        }
    }

    /// Natural logarithm of a positive, finite, normal float: Cephes `logf` (`x = m 2^e` with
    /// `m` in `[sqrt(1/2), sqrt(2))`, a degree-8 polynomial in `m - 1`, `ln 2` split in two;
    /// relative error below 1e-7, within an ulp or two of `logf`). Branch-free and call-free so
    /// that loops over it vectorise (Swift's SIMD types lower this poorly without AVX).
    @inline(__always) static func log(_ x: Float) -> Float {
        let bits = Int32(bitPattern: x.bitPattern)
        let e = (bits &- 0x3F35_04F3) &>> 23                // 0x3F3504F3: sqrt(1/2); m = x / 2^e in [sqrt(1/2), sqrt(2))
        let t = Float(bitPattern: UInt32(bitPattern: bits &- (e &<< 23))) - 1
        let fe = Float(e)
        let z = t * t
        // Cephes' degree-8 polynomial by Estrin's scheme (4 dependent steps instead of 9).
        let a0 = 7.0376836292e-2 * t - 1.1514610310e-1
        let a1 = 1.1676998740e-1 * t - 1.2420140846e-1
        let a2 = 1.4249322787e-1 * t - 1.6668057665e-1
        let a3 = 2.0000714765e-1 * t - 2.4999993993e-1
        let b0 = a0 * z + a1, b1 = a2 * z + a3
        var y = (b0 * (z * z) + b1) * t + 3.3333331174e-1
        y = y * t * z
        y += fe * -2.12194440e-4
        y += z * -0.5
        return t + y + fe * 0.693359375
    }

    /// `p[j] = log(max(p[j], floor))` for `count` non-negative floats; `floor` must be a
    /// positive normal float. If any value is infinite or NaN the whole range takes the scalar
    /// `logf` path instead (giving what torch gives for those).
    @inline(__always) static func logFloored(_ p: UnsafeMutablePointer<Float>, count: Int, floor: Float) {
        let floorBits = Int32(bitPattern: floor.bitPattern)
        var special: Int32 = 0
        for j in 0..<count {
            // Non-negative floats order like their bit patterns: an integer max, no float compare.
            let bits = Int32(bitPattern: p[j].bitPattern)
            special |= 0x7F7F_FFFF &- bits                  // negative for inf, NaN (and negative values)
        }
        guard special >= 0 else {
            for j in 0..<count { p[j] = Foundation.log(Swift.max(p[j], floor)) }
            return
        }
        for j in 0..<count {
            let bits = Int32(bitPattern: p[j].bitPattern)
            let below = (bits &- floorBits) &>> 31          // all ones where bits < floor
            let floored = bits ^ ((bits ^ floorBits) & below)
            p[j] = log(Float(bitPattern: UInt32(bitPattern: floored)))
        }
    }
}
