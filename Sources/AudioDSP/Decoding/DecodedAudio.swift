/// A decoded recording: mono float32 samples plus what the file said about itself.
public struct DecodedAudio: Sendable, Equatable {
    /// Mono samples (the channel mean when the file has several channels), scaled exactly as
    /// torchaudio 0.13's `torchaudio.load` (sox_io backend) scales them; see ``AudioDecoder``.
    public var samples: [Float]
    /// Frames per second, as the file header states it.
    public var sampleRate: Int
    /// Channels in the file (the samples are always mono).
    public var channels: Int
    /// Bits per sample of the encoding: 8, 16, 24 or 32 for integer PCM, 32 or 64 for
    /// floating point, 0 for a compressed encoding without a fixed width.
    public var bitDepth: Int
    /// Frames in the file (samples per channel); equals `samples.count`.
    public var frames: Int
    /// Frames the header declares when the file is truncated and was decoded anyway
    /// (`AudioDecoder.decode(contentsOf:allowTruncated: true)`); nil for a complete file.
    public var declaredFrames: Int?

    public init(samples: [Float], sampleRate: Int, channels: Int, bitDepth: Int, frames: Int,
                declaredFrames: Int? = nil) {
        self.samples = samples
        self.sampleRate = sampleRate
        self.channels = channels
        self.bitDepth = bitDepth
        self.frames = frames
        self.declaredFrames = declaredFrames
    }

    /// Whether the file held fewer frames than its header declares (only when decoded with
    /// `allowTruncated`).
    public var isTruncated: Bool { declaredFrames != nil }

    /// Duration in seconds (`frames / sampleRate`).
    public var duration: Double { sampleRate > 0 ? Double(frames) / Double(sampleRate) : 0 }
}
