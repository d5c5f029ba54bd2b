/// The reference preprocessing's audio constants, each written once here and read everywhere
/// else (ingest, the cycle audio store's attributes, shards, fbank, fades, length fixing, predict).
public enum ReferenceAudio {
    /// The rate every recording is resampled to, its cycles cut at and features computed at, Hz
    /// (REFERENCE.md step 2).
    public static let sampleRate = 16_000
    /// Fades are `int(rate / 16)` samples long: the whole recording's fade in and out (step 3) and
    /// the fade-out after tiling (step 5).
    public static let fadeDivisor = 16
    /// The reference's fade length at ``sampleRate``: 1,000 samples.
    public static let fadeLength = sampleRate / fadeDivisor
}
