import Foundation

/// Frame extraction and the per-frame time-domain stage of Kaldi's fbank: cut frame `i` out of
/// the signal (reflecting at the ends without `snipEdges`), remove the DC offset, measure the
/// energy, pre-emphasise, multiply by the window, zero-pad to the FFT size.
///
/// Float32 operations follow torchaudio's order (`x - mean`, then `x[j] - c * x[j-1]`, then
/// `* window`) so that results agree to float rounding.
struct FeatureWindow: Sendable {
    let windowSize: Int
    let windowShift: Int
    let paddedWindowSize: Int
    let snipEdges: Bool
    let removeDCOffset: Bool
    let preemphasisCoefficient: Float
    let rawEnergy: Bool
    /// The window function, `windowSize` values.
    let window: [Float]

    init(options o: FbankOptions) {
        windowSize = o.windowSize
        windowShift = o.windowShift
        paddedWindowSize = o.paddedWindowSize
        snipEdges = o.snipEdges
        removeDCOffset = o.removeDCOffset
        preemphasisCoefficient = Float(o.preemphasisCoefficient)
        rawEnergy = o.rawEnergy
        window = Self.function(o.windowType, size: o.windowSize, blackmanCoeff: o.blackmanCoeff)
    }

    /// The window function in float32 as torch computes it
    /// (`hann_window`/`hamming_window(periodic=False)`: `arange * (2 pi / (N - 1))`, `cos`,
    /// `* -beta`, `+ alpha`; povey: hanning `.pow(0.85)`; blackman as torchaudio writes it).
    static func function(_ type: FbankOptions.WindowType, size n: Int, blackmanCoeff: Double) -> [Float] {
        precondition(n >= 2)
        let a = 2 * Double.pi / Double(n - 1)
        func hammingLike(alpha: Double, beta: Double) -> [Float] {
            (0..<n).map { i in cos(Float(i) * Float(a)) * Float(-beta) + Float(alpha) }
        }
        switch type {
        case .hanning: return hammingLike(alpha: 0.5, beta: 0.5)
        case .hamming: return hammingLike(alpha: 0.54, beta: 0.46)
        case .povey: return hammingLike(alpha: 0.5, beta: 0.5).map { pow($0, 0.85) }
        case .rectangular: return [Float](repeating: 1, count: n)
        case .blackman:
            let c = Float(blackmanCoeff), c2 = Float(0.5 - blackmanCoeff)
            return (0..<n).map { i in
                (c - 0.5 * cos(Float(a) * Float(i))) + c2 * cos(Float(2 * a) * Float(i))
            }
        }
    }

    /// The `windowSize` raw samples of frame `frame`. With `snipEdges` the frame starts at
    /// `frame * windowShift`; otherwise at `frame * windowShift + windowShift / 2 - windowSize / 2`,
    /// and samples outside the signal are reflected as Kaldi and torchaudio do (`-1 -> 0,
    /// -2 -> 1`, `n -> n - 1, n + 1 -> n - 2`). Points into `samples` when the frame lies inside
    /// it, else into `scratch` (`windowSize` floats), where the reflected frame is assembled.
    @inline(__always)
    func frame(_ frame: Int, of samples: UnsafeBufferPointer<Float>, scratch: UnsafeMutablePointer<Float>) -> UnsafePointer<Float> {
        let n = samples.count
        let start = snipEdges ? frame * windowShift : frame * windowShift + windowShift / 2 - windowSize / 2
        if start >= 0 && start + windowSize <= n {
            return samples.baseAddress! + start
        }
        for j in 0..<windowSize {
            var s = start + j
            while s < 0 || s >= n {   // reflect until inside (only matters for signals shorter than a frame)
                s = s < 0 ? -s - 1 : 2 * n - 1 - s
            }
            scratch[j] = samples[s]
        }
        return UnsafePointer(scratch)
    }

    /// Turns the raw frame `x` (`windowSize` values) into the FFT input `out`
    /// (`paddedWindowSize` values): `y = x - mean(x)` (if `removeDCOffset`), then
    /// `(y[j] - c * y[j - 1]) * window[j]` (`y[-1] = y[0]`), then zeros. Returns the frame's energy
    /// if `wantEnergy` (sum of squares; raw: of `y`, else of the windowed frame), else 0.
    @inline(__always)
    func process(_ x: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>, wantEnergy: Bool) -> Float {
        let n = windowSize
        let mean = removeDCOffset ? VectorMath.sum(x, count: n) / Float(n) : 0
        var energy: Float = 0
        if wantEnergy && rawEnergy { energy = VectorMath.sumOfSquares(x, minus: mean, count: n) }
        window.withUnsafeBufferPointer { w in
            VectorMath.preemphasizeAndWindow(x, minus: mean, coefficient: preemphasisCoefficient,
                                             window: w.baseAddress!, into: out, count: n)
        }
        (out + n).update(repeating: 0, count: paddedWindowSize - n)
        if wantEnergy && !rawEnergy { energy = VectorMath.sumOfSquares(out, minus: 0, count: n) }
        return energy
    }
}
