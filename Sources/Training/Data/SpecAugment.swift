/// SpecAugment, policy `icbhi_ast_sup` (REFERENCE.md), on one spectrogram stored
/// [frames, bins] row-major and viewed as [bins (mel), frames]:
/// - applied only when `1.0 >= randn()` (about 84% of the time, as the reference does);
/// - no time warp;
/// - 2 frequency masks: width `f = int(uniform(0, F))`, start `f0 = randint(0, bins - f)`;
/// - then 2 time masks: width `t = int(uniform(0, T))`, start `t0 = randint(0, frames - t)`;
/// - masked cells take the spectrogram's mean, computed before the frequency masks and
///   again before the time masks. `randint` is Python's, inclusive at both ends.
///
/// `spectrograms` > 1 applies one draw of masks to that many consecutive spectrograms, the mean
/// taken over all of them: the SG-SCL repository's whole-batch augmentation.
public struct SpecAugment: Sendable {
    public var freqMaskParam = 48
    public var timeMaskParam = 160
    public var freqMasks = 2
    public var timeMasks = 2

    public init() {}

    /// Augments in place; returns whether it was applied.
    @discardableResult
    public func apply<R: SpecAugmentDraws>(_ spec: UnsafeMutableBufferPointer<Float>, frames: Int, bins: Int,
                                           spectrograms: Int = 1, using rng: inout R) -> Bool {
        precondition(spec.count == spectrograms * frames * bins)
        guard 1.0 >= rng.normal() else { return false }
        let size = frames * bins
        var mean = rng.maskValue(mean: Self.mean(spec))
        for _ in 0..<freqMasks {
            let f = min(Int(rng.uniform(0, Double(freqMaskParam))), bins)
            let f0 = rng.randint(0, bins - f)
            if f == 0 { continue }
            for s in 0..<spectrograms {
                for frame in 0..<frames {
                    let row = s * size + frame * bins
                    for b in f0..<(f0 + f) { spec[row + b] = mean }
                }
            }
        }
        mean = rng.maskValue(mean: Self.mean(spec))
        for _ in 0..<timeMasks {
            let t = min(Int(rng.uniform(0, Double(timeMaskParam))), frames)
            let t0 = rng.randint(0, frames - t)
            if t == 0 { continue }
            for s in 0..<spectrograms {
                for i in (s * size + t0 * bins)..<(s * size + (t0 + t) * bins) { spec[i] = mean }
            }
        }
        return true
    }

    static func mean(_ spec: UnsafeMutableBufferPointer<Float>) -> Float {
        var sum = 0.0
        for v in spec { sum += Double(v) }
        return Float(sum / Double(max(spec.count, 1)))
    }
}

/// SpecAugment's random draws (`TrainingRNG`; goldens replay a reference's).
public protocol SpecAugmentDraws {
    mutating func normal() -> Double
    mutating func uniform(_ low: Double, _ high: Double) -> Double
    mutating func randint(_ low: Int, _ high: Int) -> Int
    /// The value masked cells take, given the spectrograms' mean (a replay substitutes the
    /// reference's float32 mean, whose summation order differs from ours in the last bit).
    mutating func maskValue(mean: Float) -> Float
}

extension SpecAugmentDraws {
    public mutating func maskValue(mean: Float) -> Float { mean }
}

extension TrainingRNG: SpecAugmentDraws {}

/// Cosine learning-rate schedule (REFERENCE.md): for epoch e (1-based) of `epochs`,
/// `eta_min + (lr - eta_min) * (1 + cos(pi * e / epochs)) / 2`, `eta_min = lr * 0.1^3`.
public func cosineLearningRate(base lr: Double, epoch e: Int, epochs: Int) -> Double {
    let etaMin = lr * 0.001
    return etaMin + (lr - etaMin) * (1 + cos(Double.pi * Double(e) / Double(epochs))) / 2
}

import Foundation
