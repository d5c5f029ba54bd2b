import Foundation

/// A second-order IIR section (RBJ audio-EQ cookbook), transposed direct form II, `Float` state.
/// The breath noise is white noise through a cascade of these.
struct Biquad: Sendable {
    private var b0: Float, b1: Float, b2: Float, a1: Float, a2: Float
    private var z1: Float = 0, z2: Float = 0

    private init(b: (Double, Double, Double), a: (Double, Double, Double)) {
        b0 = Float(b.0 / a.0)
        b1 = Float(b.1 / a.0)
        b2 = Float(b.2 / a.0)
        a1 = Float(a.1 / a.0)
        a2 = Float(a.2 / a.0)
    }

    /// Low-pass at `cutoff` Hz (-3 dB for q = 1/sqrt(2): Butterworth).
    static func lowPass(cutoff: Double, q: Double = 0.5.squareRoot(), sampleRate: Int) -> Biquad {
        let w = 2 * Double.pi * cutoff / Double(sampleRate), alpha = sin(w) / (2 * q), c = cos(w)
        return Biquad(b: ((1 - c) / 2, 1 - c, (1 - c) / 2), a: (1 + alpha, -2 * c, 1 - alpha))
    }

    /// High-pass at `cutoff` Hz.
    static func highPass(cutoff: Double, q: Double = 0.5.squareRoot(), sampleRate: Int) -> Biquad {
        let w = 2 * Double.pi * cutoff / Double(sampleRate), alpha = sin(w) / (2 * q), c = cos(w)
        return Biquad(b: ((1 + c) / 2, -(1 + c), (1 + c) / 2), a: (1 + alpha, -2 * c, 1 - alpha))
    }

    @inline(__always)
    mutating func process(_ x: Float) -> Float {
        let y = b0 * x + z1
        z1 = b1 * x - a1 * y + z2
        z2 = b2 * x - a2 * y
        return y
    }
}

/// The breath-noise band: a Butterworth high-pass then a 4th-order Butterworth low-pass
/// (two identical sections, -24 dB/octave: lung sounds fall off steeply above a few hundred Hz).
struct BandFilter: Sendable {
    var highPass: Biquad
    var lowPass1: Biquad
    var lowPass2: Biquad

    init(lowCutoff: Double, highCutoff: Double, sampleRate: Int) {
        highPass = .highPass(cutoff: lowCutoff, sampleRate: sampleRate)
        lowPass1 = .lowPass(cutoff: highCutoff, sampleRate: sampleRate)
        lowPass2 = lowPass1
    }

    /// Energy of the impulse response over `length` samples: the output variance for
    /// unit-variance white input (used to normalise the breath noise to a chosen RMS).
    func noiseGain(length: Int) -> Double {
        var copy = self
        var energy = 0.0
        for n in 0..<length {
            let y = Double(copy.process(n == 0 ? 1 : 0))
            energy += y * y
        }
        return energy
    }

    @inline(__always)
    mutating func process(_ x: Float) -> Float {
        lowPass2.process(lowPass1.process(highPass.process(x)))
    }
}
