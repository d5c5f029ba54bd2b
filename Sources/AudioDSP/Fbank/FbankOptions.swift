/// Options of the Kaldi-compatible log mel filterbank, with Kaldi's names and defaults
/// (`compute-fbank-feats`; torchaudio `compliance.kaldi.fbank` takes the same names in
/// snake case). Units are in the names. Derived values are computed properties.
///
/// Not implemented (the project does not need them): VTLN warping, `min_duration`,
/// `subtract_mean`, channel selection. `dither` other than 0 is refused by ``validate()``:
/// the features must be deterministic.
public struct FbankOptions: Sendable, Hashable, Codable, CustomStringConvertible {
    /// Window functions, as Kaldi names them.
    public enum WindowType: String, Sendable, Hashable, Codable, CaseIterable {
        /// `0.5 - 0.5 cos(2 pi n / (N - 1))` (torch `hann_window(N, periodic=False)`).
        case hanning
        /// `0.54 - 0.46 cos(2 pi n / (N - 1))`.
        case hamming
        /// Hanning raised to the power 0.85 (Kaldi's default).
        case povey
        /// All ones.
        case rectangular
        /// `c - 0.5 cos(a n) + (0.5 - c) cos(2 a n)`, `a = 2 pi / (N - 1)`, `c = blackmanCoeff`.
        case blackman
    }

    /// Sample rate of the input, Hz (`--sample-frequency`). Kaldi's default (which happens to be
    /// ``ReferenceAudio/sampleRate``; ``paper`` sets that one explicitly).
    public var sampleFrequency: Double = 16_000
    /// Frame length, milliseconds (`--frame-length`).
    public var frameLengthMs: Double = 25
    /// Frame shift, milliseconds (`--frame-shift`).
    public var frameShiftMs: Double = 10
    /// Window function (`--window-type`).
    public var windowType: WindowType = .povey
    /// Constant of the generalised Blackman window (`--blackman-coeff`).
    public var blackmanCoeff: Double = 0.42
    /// Subtract each frame's mean before anything else (`--remove-dc-offset`).
    public var removeDCOffset: Bool = true
    /// `x[j] -= c * x[j - 1]` (with `x[-1] = x[0]`) after DC removal (`--preemphasis-coefficient`), 0...1.
    public var preemphasisCoefficient: Double = 0.97
    /// Zero-pad each frame to the next power of two for the FFT (`--round-to-power-of-two`).
    public var roundToPowerOfTwo: Bool = true
    /// Only frames that fit entirely in the signal; otherwise the count depends on the shift
    /// only and the signal is reflected at both ends (`--snip-edges`).
    public var snipEdges: Bool = true
    /// Lowest mel filter edge, Hz (`--low-freq`).
    public var lowFreq: Double = 20
    /// Highest mel filter edge, Hz; `<= 0` means an offset from the Nyquist frequency (`--high-freq`).
    public var highFreq: Double = 0
    /// Number of triangular mel filters (`--num-mel-bins`), more than 3.
    public var numMelBins: Int = 23
    /// Append (or, without `htkCompat`, prepend) the frame's log energy (`--use-energy`).
    public var useEnergy: Bool = false
    /// Floor on the energy, absolute; 0 means none (`--energy-floor`). Kaldi's default is 0;
    /// torchaudio's `fbank` defaults to 1.0.
    public var energyFloor: Double = 0
    /// Energy measured before pre-emphasis and window (`--raw-energy`); otherwise after the window.
    public var rawEnergy: Bool = true
    /// Energy column last instead of first (`--htk-compat`; nothing else of HTK's).
    public var htkCompat: Bool = false
    /// Power spectrum; otherwise magnitude (`--use-power`).
    public var usePower: Bool = true
    /// Log of the mel energies, floored at FLT_EPSILON; otherwise linear (`--use-log-fbank`).
    public var useLogFbank: Bool = true
    /// Gaussian dither amplitude (`--dither`). Only 0 is supported (see ``validate()``).
    public var dither: Double = 0

    /// Kaldi's defaults.
    public init() {}

    /// The Patch-Mix CL paper's options (REFERENCE.md step 6): torchaudio `kaldi.fbank` with
    /// `htk_compat=True, sample_frequency=16000, use_energy=False, window_type='hanning',
    /// num_mel_bins=128, dither=0.0, frame_shift=10`, torchaudio's defaults otherwise (hence
    /// `energyFloor` 1.0, which has no effect without `useEnergy`).
    /// 400-sample frames every 160 samples, FFT 512; 798 frames for 8 s.
    public static let paper: FbankOptions = {
        var o = FbankOptions()
        o.sampleFrequency = Double(ReferenceAudio.sampleRate)
        o.frameShiftMs = 10
        o.windowType = .hanning
        o.numMelBins = 128
        o.useEnergy = false
        o.htkCompat = true
        o.dither = 0
        o.energyFloor = 1
        return o
    }()

    // MARK: Derived values

    /// Samples per frame: `int(sample_frequency * frame_length * 0.001)`, as torchaudio.
    public var windowSize: Int { Int(sampleFrequency * frameLengthMs * 0.001) }
    /// Samples between frame starts: `int(sample_frequency * frame_shift * 0.001)`.
    public var windowShift: Int { Int(sampleFrequency * frameShiftMs * 0.001) }
    /// FFT size: ``windowSize`` rounded up to a power of two if ``roundToPowerOfTwo``.
    public var paddedWindowSize: Int {
        let n = windowSize
        guard roundToPowerOfTwo, n > 1 else { return n }
        return 1 << (Int.bitWidth - (n - 1).leadingZeroBitCount)
    }
    /// Nyquist frequency, Hz.
    public var nyquist: Double { 0.5 * sampleFrequency }
    /// ``highFreq`` resolved: values `<= 0` are offsets from the Nyquist frequency.
    public var effectiveHighFreq: Double { highFreq <= 0 ? highFreq + nyquist : highFreq }
    /// Centre frequency of each mel filter, Hz, low to high (``numMelBins`` values): the peak of
    /// the triangle, `mel_low + (m + 1) * (mel_high - mel_low) / (numMelBins + 1)` on the mel scale
    /// `1127 ln(1 + f / 700)`, as the filters of ``KaldiFbank`` place it. For labelling axes.
    public var melFilterCentresHz: [Double] { MelBanks.centresHz(options: self) }
    /// Columns of the output: ``numMelBins`` plus one if ``useEnergy``.
    public var featureDimension: Int { numMelBins + (useEnergy ? 1 : 0) }

    /// Frames produced for `sampleCount` samples. With ``snipEdges``:
    /// `1 + (n - windowSize) / windowShift`, or 0 when `n < windowSize` (Kaldi; torchaudio
    /// refuses such input); otherwise `(n + windowShift / 2) / windowShift`.
    public func frameCount(sampleCount n: Int) -> Int {
        let size = windowSize, shift = windowShift
        guard shift > 0 else { return 0 }
        if snipEdges {
            return n < size ? 0 : 1 + (n - size) / shift
        }
        return (n + shift / 2) / shift
    }

    /// Checks every option against Kaldi's / torchaudio's constraints and throws
    /// ``FbankError/invalidOptions(_:)`` naming all problems at once. The one place these rules
    /// live: `prep features` calls it before anything runs, ``KaldiFbank`` again on creation.
    /// Never traps, whatever the values (NaN, infinities, huge numbers included).
    public func validate() throws(FbankError) {
        var problems: [String] = []
        // The frame sizes in samples, as Doubles: converting NaN or huge values to Int would trap.
        let maximumSamples = Double(1 << 24)
        let frameSamples = sampleFrequency * frameLengthMs * 0.001, shiftSamples = sampleFrequency * frameShiftMs * 0.001
        let framesAreSized = frameSamples.isFinite && shiftSamples.isFinite
            && frameSamples < maximumSamples && shiftSamples < maximumSamples
        if !(sampleFrequency > 0 && sampleFrequency.isFinite) { problems.append("sample-frequency must be > 0, got \(sampleFrequency)") }
        if !(frameSamples >= 2 && frameSamples < maximumSamples) {
            problems.append("frame-length \(frameLengthMs) ms gives \(framesAreSized ? String(windowSize) : String(frameSamples)) samples; need 2 to \(Int(maximumSamples) - 1)")
        }
        if !(shiftSamples >= 1 && shiftSamples < maximumSamples) {
            problems.append("frame-shift \(frameShiftMs) ms gives \(framesAreSized ? String(windowShift) : String(shiftSamples)) samples; need 1 to \(Int(maximumSamples) - 1)")
        }
        if framesAreSized && windowSize >= 2 && paddedWindowSize % 2 != 0 {
            problems.append("the padded window size \(paddedWindowSize) must be even: use round-to-power-of-two or change frame-length")
        }
        if !(0...1).contains(preemphasisCoefficient) {
            problems.append("preemphasis-coefficient must be in [0, 1], got \(preemphasisCoefficient)")
        }
        if numMelBins <= 3 { problems.append("num-mel-bins must be > 3, got \(numMelBins)") }
        let high = effectiveHighFreq
        if !(0 <= lowFreq && lowFreq < nyquist && 0 < high && high <= nyquist && lowFreq < high) {
            problems.append("bad low-freq \(lowFreq) and high-freq \(highFreq) (resolved \(high)) vs. Nyquist \(nyquist)")
        }
        if !(energyFloor >= 0 && energyFloor.isFinite) { problems.append("energy-floor must be >= 0, got \(energyFloor)") }
        if !(blackmanCoeff.isFinite) { problems.append("blackman-coeff must be finite, got \(blackmanCoeff)") }
        if dither != 0 {
            problems.append("dither \(dither) is not supported: features must be deterministic; use dither 0")
        }
        if !problems.isEmpty { throw .invalidOptions(problems) }
    }

    /// The options as Kaldi command-line flags, e.g. `--num-mel-bins=128`, all of them.
    public var kaldiArguments: [String] {
        [
            "--sample-frequency=\(sampleFrequency)", "--frame-length=\(frameLengthMs)",
            "--frame-shift=\(frameShiftMs)", "--window-type=\(windowType.rawValue)",
            "--blackman-coeff=\(blackmanCoeff)", "--remove-dc-offset=\(removeDCOffset)",
            "--preemphasis-coefficient=\(preemphasisCoefficient)",
            "--round-to-power-of-two=\(roundToPowerOfTwo)", "--snip-edges=\(snipEdges)",
            "--low-freq=\(lowFreq)", "--high-freq=\(highFreq)", "--num-mel-bins=\(numMelBins)",
            "--use-energy=\(useEnergy)", "--energy-floor=\(energyFloor)", "--raw-energy=\(rawEnergy)",
            "--htk-compat=\(htkCompat)", "--use-power=\(usePower)", "--use-log-fbank=\(useLogFbank)",
            "--dither=\(dither)",
        ]
    }

    public var description: String { "FbankOptions(" + kaldiArguments.joined(separator: " ") + ")" }
}

/// Errors of the filterbank.
public enum FbankError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The options break Kaldi's constraints; every problem is listed.
    case invalidOptions([String])

    public var description: String {
        switch self {
        case .invalidOptions(let problems): "invalid fbank options: " + problems.joined(separator: "; ")
        }
    }
}
