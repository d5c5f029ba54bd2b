/// Step 7 of the reference preprocessing: `x = (x - mean) / (2 * std)`, the AST recipe's
/// normalisation (the paper used the AudioSet statistics).
///
/// Arithmetic is float32 in torch's order: `(fbank - Float(mean)) / Float(std * 2)` (a true
/// division, not a multiplication by the reciprocal), so results are bit-identical to
/// `(fb - MEAN) / (STD * 2)` on a float32 tensor.
public enum FeatureNormalization: Sendable, Hashable, Codable, CustomStringConvertible {
    /// Leave the features as they are.
    case none
    /// AudioSet statistics: mean -4.2677393, std 4.5689974 (the paper's).
    case audioset
    /// Statistics measured on the training split, same formula.
    case train(mean: Double, std: Double)

    /// The 2 of `2 * std`, the one place it is written (the kernels and `index.json`'s record read it).
    public static let stdScale: Double = 2

    public static let audiosetMean: Double = -4.2677393
    public static let audiosetStd: Double = 4.5689974

    /// The mean and std used, or nil for ``none``.
    public var statistics: (mean: Double, std: Double)? {
        switch self {
        case .none: nil
        case .audioset: (Self.audiosetMean, Self.audiosetStd)
        case .train(let mean, let std): (mean, std)
        }
    }

    public var description: String {
        switch self {
        case .none: "none"
        case .audioset: "audioset: (x - (\(Self.audiosetMean))) / (2 * \(Self.audiosetStd))"
        case .train(let mean, let std): "train: (x - (\(mean))) / (2 * \(std))"
        }
    }

    /// Normalises `values` in place.
    public func apply(to values: UnsafeMutableBufferPointer<Float>) {
        guard let (mean, std) = statistics, let p = values.baseAddress else { return }
        let m = Float(mean), d = Float(std * Self.stdScale)
        let mv = SIMD8<Float>(repeating: m), dv = SIMD8<Float>(repeating: d)
        let n = values.count
        var j = 0
        while j + 8 <= n {
            let raw = UnsafeMutableRawPointer(p + j)
            raw.storeBytes(of: (raw.loadUnaligned(as: SIMD8<Float>.self) - mv) / dv, as: SIMD8<Float>.self)
            j += 8
        }
        while j < n { p[j] = (p[j] - m) / d; j += 1 }
    }

    /// Normalises `values` in place.
    public func apply(to values: inout [Float]) {
        values.withUnsafeMutableBufferPointer { apply(to: $0) }
    }
}
