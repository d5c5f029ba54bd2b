/// Which resampler turns a recording into 16 kHz audio (`prep ingest --resampler`).
public enum ResamplerKind: String, CaseIterable, Sendable, Hashable, CustomStringConvertible {
    /// A port of torchaudio 0.13's default `Resample` (windowed sinc, Hann window,
    /// `lowpass_filter_width` 6, `rolloff` 0.99): reproduces the paper's audio to float32
    /// rounding, and is the fastest. The default. See ``TorchaudioSincResampler``.
    case reference
    /// libsamplerate `SRC_SINC_BEST_QUALITY`.
    case sincBest = "sinc-best"
    /// libsamplerate `SRC_SINC_MEDIUM_QUALITY`.
    case sincMedium = "sinc-medium"
    /// libsamplerate `SRC_SINC_FASTEST`.
    case sincFastest = "sinc-fastest"

    /// `reference`: exact (the paper's numbers) and the fastest of the four.
    public static let `default`: ResamplerKind = .reference

    public var description: String { rawValue }
}
