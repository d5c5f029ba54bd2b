import CSndFile

/// A recording opened for reading spans of it (`predict`'s streaming): the same checks and the
/// same mono float32 samples as ``AudioDecoder/decode(contentsOf:allowTruncated:)``, but only the
/// frames asked for are in memory. Each ``read(_:)`` seeks (`sf_seek`) and decodes with the
/// decoder's own readers, so a span is bit-identical to that part of the whole decode.
/// Not thread-safe (one file position).
public final class AudioStream {
    public let path: String
    public let sampleRate: Int
    public let channels: Int
    public let bitDepth: Int
    /// Frames in the file (samples per channel).
    public let frames: Int
    private let file: SoundFile
    private let isFloat: Bool

    /// Opens `path`; the errors are the decoder's (missing, empty, not RIFF/WAVE, corrupt header,
    /// truncated, no frames), each naming the file.
    public init(path: String) throws(AudioDecodingError) {
        let file = try SoundFile(path: path)
        let info = file.info
        let channels = Int(info.channels), sampleRate = Int(info.samplerate)
        guard channels > 0 else {
            throw AudioDecodingError(path: path, function: "sf_open_fd", reason: .invalidHeader("\(channels) channels"))
        }
        guard sampleRate > 0 else {
            throw AudioDecodingError(path: path, function: "sf_open_fd", reason: .invalidHeader("sample rate \(sampleRate) Hz"))
        }
        let subtype = Int(info.format) & Int(SF_FORMAT_SUBMASK)
        let bitDepth = AudioDecoder.bitDepth(ofSubtype: subtype)
        let frames = Int(info.frames)
        try AudioDecoder.checkComplete(file, frames: frames, channels: channels, bitDepth: bitDepth)
        guard frames > 0 else { throw AudioDecodingError(path: path, function: "sf_open_fd", reason: .noFrames) }
        self.path = path
        self.file = file
        self.sampleRate = sampleRate
        self.channels = channels
        self.bitDepth = bitDepth
        self.frames = frames
        isFloat = subtype == Int(SF_FORMAT_FLOAT) || subtype == Int(SF_FORMAT_DOUBLE)
    }

    /// Duration in seconds.
    public var duration: Double { Double(frames) / Double(sampleRate) }

    /// The mono samples of frames `range` (clamped to the file).
    public func read(_ range: Range<Int>) throws(AudioDecodingError) -> [Float] {
        let lower = min(max(range.lowerBound, 0), frames), upper = min(max(range.upperBound, lower), frames)
        guard upper > lower else { return [] }
        guard file.seek(toFrame: lower) else {
            throw AudioDecodingError(path: path, function: "sf_seek", reason: .readFailed(file.lastError ?? "cannot seek to frame \(lower)"))
        }
        let count = upper - lower
        if isFloat { return try AudioDecoder.readFloat(file, frames: count, channels: channels) }
        if channels == 1 { return try AudioDecoder.readMonoInt(file, frames: count) }
        return try AudioDecoder.readMultichannelInt(file, frames: count, channels: channels)
    }
}
