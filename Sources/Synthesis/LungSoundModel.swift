import Foundation
import ICBHI

/// The synthetic lung-sound model: what one recording sounds like given its annotated cycles.
///
/// Everything is drawn from the recording's own generator, so a recording depends only on
/// (corpus seed, stem, model, sample rate, length). Levels are relative to `sigma`, the RMS of the
/// breath noise at the peak of inspiration, drawn per recording from `breathLevelDB`.
///
/// - **Breath noise** (every cycle): white noise through a high-pass (`breathLowCutoffHz`) and a
///   4th-order low-pass (`breathHighCutoffHz`), normalised to `sigma`, under a breathing envelope:
///   per cycle an inspiration hump (fraction `inspirationFraction` of the cycle, peak 1) and an
///   expiration hump (peak `expirationLevel`), shape `16 u^2 (1 - u)^2`, over a floor of
///   `envelopeFloor` (also between cycles). Plus white "stethoscope hiss" `hissLevelDB` below
///   `sigma`, and heart sounds (S1, S2: damped 30-70 Hz sinusoids at `heartRateBPM`,
///   `heartLevelDB`) on the whole recording, a nuisance present in every class.
/// - **Crackles** (cycles flagged crackles): `crackleCount` short damped sinusoids per cycle
///   (plus one per 3 s of cycle), two thirds of them in the inspiration, the rest anywhere in the
///   cycle, random polarity. A cycle's crackles are fine (tau 0.5-1.5 ms, 500-1200 Hz) with
///   probability `fineCrackleProbability`, else coarse (tau 1.5-4 ms, 150-500 Hz). Amplitude:
///   each crackle's energy is `crackleSNRDB` above the breath-noise energy of one 25 ms fbank
///   frame at the peak of inspiration (`analysisFrameSeconds`), so a crackle stands out of its
///   frame over the whole band, and far more above the breath band. (8-16 dB: at 0-10 dB the
///   heart sounds, transients present in every class, masked them and a small AST trained for a
///   few minutes learned wheezes but not crackles.)
/// - **Wheezes** (cycles flagged wheezes): a tonal voice over most of the cycle (from 5-30 % to
///   70-95 % of it, 40 ms smoothstep ramps): fundamental in `wheezeFundamentalHz`, linear glide of
///   up to `wheezeGlide` (relative, either direction) and a 4-7 Hz vibrato of 0.5-1.5 %,
///   harmonics 2 and 3 (relative amplitudes 0.3-0.7, 0.1-0.4) where they stay at or below
///   1000 Hz; RMS `wheezeSNRDB` above `sigma`. With `polyphonicWheezeProbability` a second,
///   independent voice sounds with it (each voice 3 dB lower).
/// - **Both**: crackles and wheezes, drawn independently.
///
/// Finally the recording is scaled down as a whole if its peak exceeds `peakLimit` (no clipping).
public struct LungSoundModel: Sendable, Equatable {
    public var breathLevelDB: ClosedRange<Double> = -30 ... -22
    public var breathLowCutoffHz: ClosedRange<Double> = 60 ... 150
    public var breathHighCutoffHz: ClosedRange<Double> = 400 ... 1000
    public var envelopeFloor: Double = 0.1
    public var inspirationFraction: ClosedRange<Double> = 0.35 ... 0.5
    public var expirationLevel: ClosedRange<Double> = 0.45 ... 0.8
    public var hissLevelDB: Double = -30
    public var heartLevelDB: ClosedRange<Double> = -6 ... 0
    public var heartRateBPM: ClosedRange<Double> = 60 ... 100
    public var crackleCount: ClosedRange<Int> = 8 ... 16
    public var crackleSNRDB: ClosedRange<Double> = 8 ... 16
    public var fineCrackleProbability: Double = 0.6
    public var wheezeSNRDB: ClosedRange<Double> = 0 ... 10
    public var wheezeFundamentalHz: ClosedRange<Double> = 120 ... 600
    public var wheezeGlide: Double = 0.2
    public var polyphonicWheezeProbability: Double = 0.25
    /// Highest partial of a wheeze, Hz.
    public var wheezeMaxPartialHz: Double = 1000
    public var peakLimit: Float = 0.9

    /// The fbank's analysis frame (25 ms): a crackle's SNR compares its whole energy with the
    /// breath-noise energy of one such frame at the peak of inspiration, i.e. how much it raises
    /// the frame it falls in.
    public static let analysisFrameSeconds = 0.025

    public init() {}

    /// Renders one recording of `frames` samples at `sampleRate` Hz. `seed` is the recording's
    /// seed (``CorpusSynthesizer`` derives it from the corpus seed and the stem).
    public func render(cycles: [AnnotatedCycle], sampleRate: Int, frames: Int, seed: UInt64) -> [Float] {
        precondition(sampleRate > 0 && frames >= 0, "sample rate must be positive, frames non-negative")
        var seeds = SplitMix64(seed: seed)
        var noise = Xoshiro256StarStar(seed: seeds.next())
        var recording = Xoshiro256StarStar(seed: seeds.next())
        let cycleSeed = seeds.next()
        func cycleGenerator(_ index: Int, stream: UInt64) -> Xoshiro256StarStar {
            var mix = SplitMix64(seed: cycleSeed ^ (UInt64(index) << 2 | stream))
            return Xoshiro256StarStar(seed: mix.next())
        }

        let rate = Double(sampleRate)
        let sigma = decibels(recording.uniform(breathLevelDB))
        let band = BandFilter(lowCutoff: recording.uniform(breathLowCutoffHz),
                              highCutoff: min(recording.uniform(breathHighCutoffHz), 0.45 * rate), sampleRate: sampleRate)
        // Uniform noise in [-1, 1) has variance 1/3.
        let noiseScale = Float(sigma / (band.noiseGain(length: sampleRate) / 3).squareRoot())
        let hissScale = Float(sigma * decibels(hissLevelDB) * 3.0.squareRoot())

        var envelope = [Float](repeating: Float(envelopeFloor), count: frames)
        envelope.withUnsafeMutableBufferPointer { e in
            for (index, cycle) in cycles.enumerated() {
                var rng = cycleGenerator(index, stream: 0)
                addBreathingEnvelope(e, cycle: cycle, rate: rate, rng: &rng)
            }
        }

        var signal = [Float](repeating: 0, count: frames)
        signal.withUnsafeMutableBufferPointer { x in
            envelope.withUnsafeBufferPointer { e in
                var filter = band
                // Settle the filters first, so the recording does not start with their transient.
                for _ in 0..<(sampleRate / 4) { _ = filter.process(noise.signedPair().0) }
                for n in 0..<frames {
                    let (a, b) = noise.signedPair()
                    x[n] = filter.process(a) * noiseScale * e[n] + b * hissScale
                }
            }
            addHeartSounds(x, sigma: sigma, rate: rate, rng: &recording)
            for (index, cycle) in cycles.enumerated() {
                var rng = cycleGenerator(index, stream: 1)
                if cycle.crackle { addCrackles(x, cycle: cycle, sigma: sigma, rate: rate, rng: &rng) }
                if cycle.wheeze { addWheeze(x, cycle: cycle, sigma: sigma, rate: rate, rng: &rng) }
            }
            var peak: Float = 0
            for v in x { peak = max(peak, abs(v)) }
            if peak > peakLimit {
                let scale = peakLimit / peak
                for n in 0..<frames { x[n] *= scale }
            }
        }
        return signal
    }

    // MARK: - Components

    /// One cycle's inspiration and expiration humps, combined with the envelope by maximum
    /// (annotated cycles may overlap).
    private func addBreathingEnvelope(_ e: UnsafeMutableBufferPointer<Float>, cycle: AnnotatedCycle, rate: Double,
                                      rng: inout Xoshiro256StarStar) {
        let inspiration = rng.uniform(inspirationFraction)
        let expiration = rng.uniform(expirationLevel)
        let (a, b) = span(cycle, rate: rate, count: e.count)
        let length = Double(b - a)
        guard length > 0 else { return }
        let floor = envelopeFloor
        for n in a..<b {
            let position = Double(n - a) / length
            let hump: Double
            if position < inspiration {
                let u = position / inspiration
                hump = 16 * u * u * (1 - u) * (1 - u)
            } else {
                let u = (position - inspiration) / (1 - inspiration)
                hump = expiration * 16 * u * u * (1 - u) * (1 - u)
            }
            e[n] = max(e[n], Float(floor + (1 - floor) * hump))
        }
    }

    /// S1 and S2 of a heartbeat with a little jitter, over the whole recording.
    private func addHeartSounds(_ x: UnsafeMutableBufferPointer<Float>, sigma: Double, rate: Double,
                                rng: inout Xoshiro256StarStar) {
        let period = 60 / rng.uniform(heartRateBPM)
        let amplitude = 2 * sigma * decibels(rng.uniform(heartLevelDB))
        let s1Frequency = rng.uniform(30, 50), s2Frequency = rng.uniform(50, 70)
        let systole = rng.uniform(0.28, 0.35)
        var time = rng.uniform(0, period)
        let duration = Double(x.count) / rate
        while time < duration {
            addDampedSine(x, at: Int(time * rate), amplitude: amplitude, frequency: s1Frequency, tau: 0.025, rate: rate)
            addDampedSine(x, at: Int((time + systole * period) * rate), amplitude: 0.7 * amplitude,
                          frequency: s2Frequency, tau: 0.015, rate: rate)
            time += period * rng.uniform(0.97, 1.03)
        }
    }

    private func addCrackles(_ x: UnsafeMutableBufferPointer<Float>, cycle: AnnotatedCycle, sigma: Double, rate: Double,
                             rng: inout Xoshiro256StarStar) {
        let (a, b) = span(cycle, rate: rate, count: x.count)
        guard b > a else { return }
        let length = Double(b - a)
        let fine = rng.chance(fineCrackleProbability)
        let count = rng.integer(in: crackleCount) + Int(cycle.duration / 3)
        let inspirationEnd = 0.45
        for k in 0..<count {
            let position = k * 3 < count * 2 ? rng.uniform(0.05, inspirationEnd) : rng.uniform(0.05, 0.95)
            let tau = fine ? rng.uniform(0.0005, 0.0015) : rng.uniform(0.0015, 0.004)
            let frequency = min(fine ? rng.uniform(500, 1200) : rng.uniform(150, 500), 0.4 * rate)
            // Energy of A e^(-t/tau) sin(wt) over t >= 0: A^2 (tau / 4) (w tau)^2 / (1 + (w tau)^2).
            let wt = 2 * Double.pi * frequency * tau
            let unitEnergy = tau / 4 * wt * wt / (1 + wt * wt)
            let energy = sigma * sigma * Self.analysisFrameSeconds * pow(10, rng.uniform(crackleSNRDB) / 10)
            let amplitude = (energy / unitEnergy).squareRoot() * (rng.chance(0.5) ? 1 : -1)
            addDampedSine(x, at: a + Int(position * length), amplitude: amplitude, frequency: frequency, tau: tau, rate: rate)
        }
    }

    private func addWheeze(_ x: UnsafeMutableBufferPointer<Float>, cycle: AnnotatedCycle, sigma: Double, rate: Double,
                           rng: inout Xoshiro256StarStar) {
        let (a, b) = span(cycle, rate: rate, count: x.count)
        guard b > a else { return }
        let length = Double(b - a)
        let begin = a + Int(rng.uniform(0.05, 0.3) * length)
        let end = a + Int(rng.uniform(0.7, 0.95) * length)
        let voices = rng.chance(polyphonicWheezeProbability) ? 2 : 1
        for _ in 0..<voices {
            let voice = WheezeVoice(model: self, sigma: sigma / Double(voices).squareRoot(), rate: rate, rng: &rng)
            voice.add(to: x, from: begin, to: end, rate: rate)
        }
    }

    /// A cycle's samples `[a, b)` in a recording of `count` samples.
    private func span(_ cycle: AnnotatedCycle, rate: Double, count: Int) -> (Int, Int) {
        let bounds = cycle.sliceBounds(sampleRate: Int(rate), frames: count)
        return (bounds.lowerBound, bounds.upperBound)
    }
}

@inline(__always)
func decibels(_ db: Double) -> Double { pow(10, db / 20) }

/// Adds `A R^n sin(n w)`, R = e^(-1/(tau rate)), for 7 tau from `start`, by the two-term
/// recurrence of a damped oscillator (no transcendental function per sample).
func addDampedSine(_ x: UnsafeMutableBufferPointer<Float>, at start: Int, amplitude: Double, frequency: Double,
                   tau: Double, rate: Double) {
    let w = 2 * Double.pi * frequency / rate
    let r = exp(-1 / (tau * rate))
    let c = 2 * r * cos(w), r2 = r * r
    let length = Int(7 * tau * rate)
    var previous = 0.0, current = amplitude * r * sin(w)
    var n = 1
    while n < length {
        let index = start + n
        if index >= x.count { break }
        if index >= 0 { x[index] += Float(current) }
        let next = c * current - r2 * previous
        previous = current
        current = next
        n += 1
    }
}

/// One tonal wheeze voice: a gliding, slightly vibrating fundamental and its harmonics up to
/// `wheezeMaxPartialHz`. The phase advances by complex rotation, its step recomputed every 32
/// samples; harmonics 2 and 3 come from the fundamental's sine and cosine (double and triple
/// angle formulas), so no sine is evaluated per sample.
private struct WheezeVoice {
    let fundamental: Double
    let glide: Double
    let vibratoRate: Double
    let vibratoDepth: Double
    let amplitudes: (Double, Double, Double)

    init(model: LungSoundModel, sigma: Double, rate: Double, rng: inout Xoshiro256StarStar) {
        fundamental = min(rng.uniform(model.wheezeFundamentalHz), 0.4 * rate)
        glide = rng.uniform(-model.wheezeGlide, model.wheezeGlide)
        vibratoRate = rng.uniform(4, 7)
        vibratoDepth = rng.uniform(0.005, 0.015)
        let highest = fundamental * (1 + abs(glide) / 2) * (1 + vibratoDepth)
        let limit = min(model.wheezeMaxPartialHz, 0.45 * rate)
        let second = 2 * highest <= limit ? rng.uniform(0.3, 0.7) : 0
        let third = 3 * highest <= limit ? rng.uniform(0.1, 0.4) : 0
        // Sum of partials A a_k sin(k theta) has RMS A sqrt(sum a_k^2 / 2).
        let level = sigma * decibels(rng.uniform(model.wheezeSNRDB))
        let scale = level / ((1 + second * second + third * third) / 2).squareRoot()
        amplitudes = (scale, scale * second, scale * third)
    }

    func add(to x: UnsafeMutableBufferPointer<Float>, from begin: Int, to end: Int, rate: Double) {
        let end = min(end, x.count)
        guard end > begin, begin >= 0 else { return }
        let length = end - begin
        let ramp = max(1, min(Int(0.04 * rate), length / 4))
        var cosine = 1.0, sine = 0.0
        let block = 32
        var start = begin
        while start < end {
            let stop = min(start + block, end)
            let progress = (Double(start - begin) + Double(stop - start) / 2) / Double(length)
            let time = Double(start - begin) / rate
            let frequency = fundamental * (1 + glide * (progress - 0.5)) * (1 + vibratoDepth * sin(2 * Double.pi * vibratoRate * time))
            let step = 2 * Double.pi * frequency / rate
            let stepCos = cos(step), stepSin = sin(step)
            for n in start..<stop {
                let next = cosine * stepCos - sine * stepSin
                sine = sine * stepCos + cosine * stepSin
                cosine = next
                let value = amplitudes.0 * sine + amplitudes.1 * 2 * sine * cosine + amplitudes.2 * sine * (3 - 4 * sine * sine)
                let fromStart = n - begin, fromEnd = end - 1 - n
                var gain = 1.0
                if fromStart < ramp || fromEnd < ramp {
                    let u = Double(min(fromStart, fromEnd)) / Double(ramp)
                    gain = u * u * (3 - 2 * u)
                }
                x[n] += Float(value * gain)
            }
            let norm = 1 / (cosine * cosine + sine * sine).squareRoot()
            cosine *= norm
            sine *= norm
            start = stop
        }
    }
}

extension Xoshiro256StarStar {
    mutating func uniform(_ range: ClosedRange<Double>) -> Double { uniform(range.lowerBound, range.upperBound) }
}
