/// Which resampler turns a recording into 16 kHz audio (`prep ingest --resampler`).
public enum ResamplerKind: String, CaseIterable, Sendable, Hashable, CustomStringConvertible {
    /// A port of torchaudio 0.13's default `Resample` (windowed sinc, Hann window,
    /// `lowpass_filter_width` 6, `rolloff` 0.99): reproduces the paper's audio to float32
    /// rounding. See ``TorchaudioSincResampler``.
    case reference
    /// libsamplerate `SRC_SINC_BEST_QUALITY`.
    case sincBest = "sinc-best"
    /// libsamplerate `SRC_SINC_MEDIUM_QUALITY` (the default).
    case sincMedium = "sinc-medium"
    /// libsamplerate `SRC_SINC_FASTEST`.
    case sincFastest = "sinc-fastest"

    public static let `default`: ResamplerKind = .sincMedium

    public var description: String { rawValue }
}
