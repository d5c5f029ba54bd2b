import AudioDSP

/// A recording as `prep ingest` sees it (decoded, resampled to 16 kHz, faded: REFERENCE.md steps
/// 1-3), served span by span without holding the recording in memory.
///
/// Streaming is exact for the reference resampler: output sample i of frame m = i / new
/// (rates reduced by their gcd) reads input samples m * orig - width ... at most 3 widths plus a
/// frame further, so a span is resampled from an input span that starts on a frame boundary at
/// least `width` samples earlier and runs that far past its end. The kernel then computes each
/// output with the same taps in the same order as on the whole recording: bit-identical. The
/// whole-recording fades touch only the first and last 1,000 samples; a span that reaches them
/// is widened to the recording's start or end and faded there with the same gains. Recordings
/// whose fades overlap (under 2,000 samples at 16 kHz) and the libsamplerate resamplers
/// (stateful, their output depends on everything before) are decoded whole, exactly as ingest.
final class Recording16k {
    let stream: AudioStream
    /// Samples of the whole faded 16 kHz recording.
    let length: Int
    private let kernel: TorchaudioSincResampler?
    private let whole: [Float]?

    static let rate = Preprocessing.sampleRate

    init(path: String, resampler: ResamplerKind, kernel: (Int) -> TorchaudioSincResampler) throws {
        stream = try AudioStream(path: path)
        length = Resampler.outputLength(forInputLength: stream.frames, from: stream.sampleRate, to: Self.rate)
        let fade = Fade.recording
        guard length >= max(fade.fadeInLength, fade.fadeOutLength) else {
            throw PredictError(file: path, reason: "\(Fade.TooShort(length: length, fadeLength: fade.fadeInLength)) (\(stream.frames) frames at \(stream.sampleRate) Hz)")
        }
        if resampler != .reference || length < fade.fadeInLength + fade.fadeOutLength {
            // Ingest's own code path, on the whole recording.
            var samples = try Resampler(kind: resampler).resample(stream.read(0..<stream.frames), from: stream.sampleRate, to: Self.rate)
            try fade.apply(to: &samples)
            whole = samples
            self.kernel = nil
        } else {
            whole = nil
            self.kernel = stream.sampleRate == Self.rate ? nil : kernel(stream.sampleRate)
        }
    }

    /// Whether spans are computed on demand (false: the recording is held whole).
    var isStreamed: Bool { whole == nil }

    /// Samples `range` (within `0..<length`) of the faded 16 kHz recording.
    func samples(_ range: Range<Int>) throws -> [Float] {
        precondition(range.lowerBound >= 0 && range.upperBound <= length, "span outside the recording")
        if let whole { return Array(whole[range]) }
        let fade = Fade.recording
        var lower = range.lowerBound < fade.fadeInLength ? 0 : range.lowerBound
        var upper = range.upperBound > length - fade.fadeOutLength ? length : range.upperBound
        // A faded end is faded whole (then cut).
        if lower == 0 { upper = max(upper, fade.fadeInLength) }
        if upper == length { lower = min(lower, length - fade.fadeOutLength) }
        var span = try resampled(lower..<upper)
        try span.withUnsafeMutableBufferPointer { p in
            // The same gains as Fade.recording on the whole: fades never overlap here (length >= 2000).
            if lower == 0 {
                try Fade(fadeInLength: fade.fadeInLength, fadeOutLength: 0).apply(to: UnsafeMutableBufferPointer(rebasing: p[0..<fade.fadeInLength]))
            }
            if upper == length {
                try Fade(fadeInLength: 0, fadeOutLength: fade.fadeOutLength).apply(to: UnsafeMutableBufferPointer(rebasing: p[(p.count - fade.fadeOutLength)...]))
            }
        }
        return Array(span[(range.lowerBound - lower)..<(range.upperBound - lower)])
    }

    /// Samples `range` of the 16 kHz recording before the fades.
    private func resampled(_ range: Range<Int>) throws -> [Float] {
        guard let kernel else { return try stream.read(range) }
        let orig = kernel.reducedSource, new = kernel.reducedTarget
        let firstFrame = range.lowerBound / new, lastFrame = (range.upperBound - 1) / new
        let context = (kernel.width + orig - 1) / orig + 1
        let startFrame = max(0, firstFrame - context)
        let inputEnd = min(stream.frames, (lastFrame + 1) * orig + 3 * kernel.width + kernel.tapsPerPhase + orig)
        let output = kernel.resample(try stream.read((startFrame * orig)..<inputEnd))
        let offset = startFrame * new
        return Array(output[(range.lowerBound - offset)..<(range.upperBound - offset)])
    }
}
