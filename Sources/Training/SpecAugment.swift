/// SpecAugment, policy `icbhi_ast_sup` (REFERENCE.md), on one spectrogram stored
/// [frames, bins] row-major and viewed as [bins (mel), frames]:
/// - applied only when `1.0 >= randn()` (about 84% of the time, as the reference does);
/// - no time warp;
/// - 2 frequency masks: width `f = int(uniform(0, F))`, start `f0 = randint(0, bins - f)`;
/// - then 2 time masks: width `t = int(uniform(0, T))`, start `t0 = randint(0, frames - t)`;
/// - masked cells take the spectrogram's mean, computed before the frequency masks and
///   again before the time masks. `randint` is Python's, inclusive at both ends.
public struct SpecAugment: Sendable {
    public var freqMaskParam = 48
    public var timeMaskParam = 160
    public var freqMasks = 2
    public var timeMasks = 2

    public init() {}

    /// Augments in place; returns whether it was applied.
    @discardableResult
    public func apply(_ spec: UnsafeMutableBufferPointer<Float>, frames: Int, bins: Int,
                      using rng: inout TrainingRNG) -> Bool {
        precondition(spec.count == frames * bins)
        guard 1.0 >= rng.normal() else { return false }
        var mean = Self.mean(spec)
        for _ in 0..<freqMasks {
            let f = min(Int(rng.uniform(0, Double(freqMaskParam))), bins)
            let f0 = rng.randint(0, bins - f)
            if f == 0 { continue }
            for frame in 0..<frames {
                let row = frame * bins
                for b in f0..<(f0 + f) { spec[row + b] = mean }
            }
        }
        mean = Self.mean(spec)
        for _ in 0..<timeMasks {
            let t = min(Int(rng.uniform(0, Double(timeMaskParam))), frames)
            let t0 = rng.randint(0, frames - t)
            if t == 0 { continue }
            for i in (t0 * bins)..<((t0 + t) * bins) { spec[i] = mean }
        }
        return true
    }

    static func mean(_ spec: UnsafeMutableBufferPointer<Float>) -> Float {
        var sum = 0.0
        for v in spec { sum += Double(v) }
        return Float(sum / Double(max(spec.count, 1)))
    }
}

/// Cosine learning-rate schedule (REFERENCE.md): for epoch e (1-based) of `epochs`,
/// `eta_min + (lr - eta_min) * (1 + cos(pi * e / epochs)) / 2`, `eta_min = lr * 0.1^3`.
public func cosineLearningRate(base lr: Double, epoch e: Int, epochs: Int) -> Double {
    let etaMin = lr * 0.001
    return etaMin + (lr - etaMin) * (1 + cos(Double.pi * Double(e) / Double(epochs))) / 2
}

import Foundation
