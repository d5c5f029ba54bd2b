/// Linear fade-in and fade-out, exactly as torchaudio 0.13's
/// `transforms.Fade(fade_in_len, fade_out_len, fade_shape="linear")` computes them in float32
/// (REFERENCE.md, preprocessing step 3; step 5 uses a fade-out alone).
///
/// torchaudio builds `linspace(0, 1, L)` in float32, the in-gain over the first L samples and
/// `1 - linspace` as the out-gain over the last L, ones elsewhere, clamps both to [0, 1], and
/// returns `fade_in * fade_out * waveform`. Its float32 `linspace` (PyTorch 1.13 CPU kernel,
/// AVX2 build) is not `k / (L - 1)` rounded: with `step = 1 / (L - 1)` and `half = L / 2`,
/// blocks of 8 starting at multiples of 8 below `16 * (L / 16)` are `base + i * step` (two
/// roundings) from the block's first value, and every first value and the scalar tail is
/// `fma(step, k, 0)` below `half` or `fma(-step, L - 1 - k, 1)` from `half` on (the compiler
/// contracts them). ``linspace(count:)`` reproduces it bit for bit.
public struct Fade: Sendable, Equatable {
    public var fadeInLength: Int
    public var fadeOutLength: Int

    public init(fadeInLength: Int, fadeOutLength: Int) {
        precondition(fadeInLength >= 0 && fadeOutLength >= 0, "fade lengths must not be negative")
        self.fadeInLength = fadeInLength
        self.fadeOutLength = fadeOutLength
    }

    /// The whole-recording fade of preprocessing step 3: 1,000 samples in and out at 16 kHz
    /// (`int(16000 / 16)`, ``ReferenceAudio/fadeLength``).
    public static let recording = Fade(fadeInLength: ReferenceAudio.fadeLength, fadeOutLength: ReferenceAudio.fadeLength)

    /// A recording shorter than a fade: torchaudio fails on it (`torch.ones` of a negative
    /// length), so this is an error rather than a guess.
    public struct TooShort: Error, CustomStringConvertible, Sendable, Equatable {
        public let length: Int
        public let fadeLength: Int

        public init(length: Int, fadeLength: Int) {
            self.length = length
            self.fadeLength = fadeLength
        }

        public var description: String {
            "cannot fade \(length) samples: shorter than the \(fadeLength)-sample fade (torchaudio's Fade rejects it too)"
        }
    }

    /// Applies the fades in place. Fades may overlap when the signal is shorter than
    /// `fadeInLength + fadeOutLength` (both gains multiply, as in torchaudio).
    public func apply(to samples: inout [Float]) throws(TooShort) {
        try samples.withUnsafeMutableBufferPointer { (p) throws(TooShort) in try apply(to: p) }
    }

    /// Returns a faded copy.
    public func applied(to samples: [Float]) throws(TooShort) -> [Float] {
        var copy = samples
        try apply(to: &copy)
        return copy
    }

    /// Applies the fades in place.
    public func apply(to samples: UnsafeMutableBufferPointer<Float>) throws(TooShort) {
        let n = samples.count
        guard n >= fadeInLength, n >= fadeOutLength else {
            throw TooShort(length: n, fadeLength: max(fadeInLength, fadeOutLength))
        }
        let fadeIn = Self.linspace(count: fadeInLength)
        let fadeOut = Self.linspace(count: fadeOutLength).map { min(max(-$0 + 1, 0), 1) }
        let outStart = n - fadeOutLength
        // Only the samples under a fade change: elsewhere the gain is 1 * 1 and 1 * x == x.
        for k in 0..<fadeInLength {
            let gainOut: Float = k >= outStart ? fadeOut[k - outStart] : 1
            samples[k] = (min(max(fadeIn[k], 0), 1) * gainOut) * samples[k]
        }
        for k in max(outStart, fadeInLength)..<n {
            samples[k] = (1 * fadeOut[k - outStart]) * samples[k]
        }
    }

    /// PyTorch 1.13's float32 `torch.linspace(0, 1, count)` on CPU (AVX2 kernel), bit for bit.
    public static func linspace(count: Int) -> [Float] {
        if count == 0 { return [] }
        if count == 1 { return [0] }
        let start: Float = 0, end: Float = 1
        let step = (end - start) / Float(count - 1)
        let half = count / 2
        func scalar(_ k: Int) -> Float {
            k < half ? start.addingProduct(step, Float(k))
                     : end.addingProduct(-step, Float(count - k - 1))
        }
        let vectorWidth = 8
        let vectorized = count / (2 * vectorWidth) * (2 * vectorWidth)
        var values = [Float](repeating: 0, count: count)
        var block = 0
        while block < vectorized {
            let base = scalar(block)
            for i in 0..<vectorWidth { values[block + i] = base + Float(i) * step }
            block += vectorWidth
        }
        for k in vectorized..<count { values[k] = scalar(k) }
        return values
    }
}
