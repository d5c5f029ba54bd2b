/// Step 5 of the reference preprocessing: give every cycle the same length (8 s at 16 kHz =
/// 128,000 samples by default).
///
/// - ``Mode/repeat`` (the reference, the paper's `generate_fbank` padding): a cycle longer than
///   `length` is cut to its first `length` samples, without fade. Otherwise (also when it is
///   exactly `length` long) it is tiled `ceil(length / n)` times, cut to `length`, and faded out
///   linearly over its last `fadeOutLength` samples as torchaudio's
///   `Fade(fade_in_len=0, fade_out_len=L, fade_shape='linear')`: the k-th of the last L samples
///   is multiplied by `1 - linspace(0, 1, L)[k]` (1 for the first, 0 for the last), computed in
///   float32 exactly as torch 1.13's CPU `linspace` rounds it.
/// - ``Mode/zero``: a longer cycle is cut to its first `length` samples; a shorter one is centred
///   in zeros: `(length - n) / 2` zeros before it (rounded down) and the rest after it, so an odd
///   extra zero goes at the end. No fade.
///
/// An empty cycle cannot be tiled (the reference crashes on it): both modes throw
/// ``LengthFixingError/emptyInput``.
public struct LengthFixing: Sendable, Hashable, Codable, CustomStringConvertible {
    public enum Mode: String, Sendable, Hashable, Codable, CaseIterable {
        /// Tile, cut, fade out (the reference).
        case `repeat`
        /// Centred zero padding.
        case zero
    }

    /// Output length, samples.
    public var length: Int
    /// How shorter inputs are padded.
    public var mode: Mode
    /// Linear fade-out length after tiling (``Mode/repeat`` only), samples: `int(16000 / 16)`.
    public var fadeOutLength: Int

    public init(length: Int = 128_000, mode: Mode = .repeat, fadeOutLength: Int = ReferenceAudio.fadeLength) {
        self.length = length
        self.mode = mode
        self.fadeOutLength = fadeOutLength
    }

    /// The reference: 128,000 samples, repeat, 1,000-sample fade-out.
    public static let reference = LengthFixing()

    /// A length given in seconds, as people give it: `seconds * sampleRate` rounded to whole
    /// samples, with the reference's fade-out (`int(sampleRate / 16)` samples, or the whole
    /// length if that is shorter).
    ///
    /// - Throws: ``LengthFixingError/invalidOptions(_:)`` unless `seconds` is finite and gives
    ///   at least one sample, and `sampleRate` is positive.
    public init(seconds: Double, sampleRate: Int, mode: Mode = .repeat) throws(LengthFixingError) {
        guard sampleRate > 0 else { throw .invalidOptions("sample rate must be > 0 Hz, got \(sampleRate)") }
        let samples = (seconds * Double(sampleRate)).rounded()
        guard seconds.isFinite, samples >= 1, samples <= Double(Int32.max) else {
            throw .invalidOptions("length must be a finite number of seconds giving 1 to \(Int32.max) samples at \(sampleRate) Hz, got \(seconds) s")
        }
        self.init(length: Int(samples), mode: mode, fadeOutLength: min(sampleRate / ReferenceAudio.fadeDivisor, Int(samples)))
    }

    /// ``length`` in seconds at `sampleRate`.
    public func seconds(sampleRate: Int) -> Double { Double(length) / Double(sampleRate) }

    public var description: String {
        "LengthFixing(length: \(length), mode: \(mode.rawValue), fadeOutLength: \(fadeOutLength))"
    }

    /// Throws ``LengthFixingError/invalidOptions(_:)`` unless `length >= 1` and, for
    /// ``Mode/repeat``, `0 <= fadeOutLength <= length`.
    public func validate() throws(LengthFixingError) {
        guard length >= 1 else { throw .invalidOptions("length must be >= 1 sample, got \(length)") }
        guard mode != .repeat || (0...length).contains(fadeOutLength) else {
            throw .invalidOptions("fade-out length \(fadeOutLength) must be within 0...\(length) (the length)")
        }
    }

    /// `samples` fixed to ``length`` samples.
    public func apply(_ samples: [Float]) throws(LengthFixingError) -> [Float] {
        try validate()
        guard !samples.isEmpty else { throw .emptyInput }
        var out = [Float](repeating: 0, count: length)
        try samples.withUnsafeBufferPointer { input throws(LengthFixingError) in
            try out.withUnsafeMutableBufferPointer { output throws(LengthFixingError) in
                try apply(input, into: output)
            }
        }
        return out
    }

    /// Writes `samples` fixed to ``length`` samples into `output` (exactly `length` floats). No allocation.
    public func apply(_ samples: UnsafeBufferPointer<Float>, into output: UnsafeMutableBufferPointer<Float>) throws(LengthFixingError) {
        try validate()
        precondition(output.count == length, "output holds \(output.count) floats, length is \(length)")
        let n = samples.count
        guard n > 0, let src = samples.baseAddress, let dst = output.baseAddress else { throw .emptyInput }
        if n > length {
            dst.update(from: src, count: length)
            return
        }
        switch mode {
        case .zero:
            let before = (length - n) / 2
            dst.update(repeating: 0, count: before)
            (dst + before).update(from: src, count: n)
            (dst + before + n).update(repeating: 0, count: length - before - n)
        case .repeat:
            var filled = 0
            while filled < length {
                let c = min(n, length - filled)
                (dst + filled).update(from: src, count: c)
                filled += c
            }
            let fadeStart = length - fadeOutLength
            for k in 0..<fadeOutLength {
                dst[fadeStart + k] *= 1 - Self.torchLinspace(k, count: fadeOutLength)
            }
        }
    }

    /// Element `k` of `torch.linspace(0, 1, count)` (float32, torch 1.13 CPU kernel, AVX2 build):
    /// `step = 1 / (count - 1)`; the scalar path gives `fma(step, k, 0)` for `k < count / 2` and
    /// `fma(-step, count - 1 - k, 1)` after; the vector path, used for whole blocks of 16, computes
    /// each 8-lane group's first element by the scalar rule and the others as `base + step * i`.
    /// Differs from `Float(k) / Float(count - 1)` by at most one ulp on some elements; reproducing
    /// it makes the fade bit-identical to the reference.
    static func torchLinspace(_ k: Int, count: Int) -> Float {
        guard count > 1 else { return 0 }
        let step = Float(1) / Float(count - 1)
        let halfway = count / 2
        func scalar(_ i: Int) -> Float {
            i < halfway ? Float(0).addingProduct(step, Float(i))
                        : Float(1).addingProduct(-step, Float(count - 1 - i))
        }
        let vectorized = count / 16 * 16
        guard k < vectorized else { return scalar(k) }
        let groupStart = k / 8 * 8
        return scalar(groupStart) + step * Float(k - groupStart)
    }
}

/// Errors of ``LengthFixing``.
public enum LengthFixingError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A zero-length cycle: nothing to tile or centre.
    case emptyInput
    /// Bad ``LengthFixing`` settings.
    case invalidOptions(String)

    public var description: String {
        switch self {
        case .emptyInput: "cannot fix the length of an empty cycle (0 samples): nothing to repeat or pad"
        case .invalidOptions(let m): "invalid length fixing: " + m
        }
    }
}
