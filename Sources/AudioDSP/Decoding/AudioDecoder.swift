import CSndFile

/// Decodes a recording with libsndfile into mono float32 samples, numerically identical to
/// what the paper's pipeline gets from torchaudio 0.13's `torchaudio.load` (sox_io backend).
///
/// Scaling (integer PCM): libsndfile's `sf_readf_int` yields each sample left-justified in 32
/// bits, as sox does; torchaudio then applies sox's `SOX_SAMPLE_TO_FLOAT_32BIT`:
/// `s > INT32_MAX - 64 ? 1 : ((s + 64) & ~127) / 2^31`. For 8-, 16- and 24-bit audio that is
/// exactly `x / 2^(bits - 1)`; 32-bit samples are rounded to 24 significant bits (round half
/// up) and the top 64 codes become 1.0 (so the range is [-1, 1], not [-1, 1)). Checked
/// against torchaudio bit for bit, including the extremes.
/// Floating-point files are read as stored (`sf_readf_float`, no round trip through sox's
/// integers; ICBHI has none).
///
/// Several channels: the channel mean, summed in channel order in float32 then divided by
/// the channel count, exactly as torch's `data.mean(0)` (the project's rule; the paper's code
/// would keep channel 0).
///
/// Errors name the file: missing or unreadable, empty, not a sound file or corrupt header
/// (libsndfile's message), truncated (the WAV data chunk declares more bytes than the file
/// holds, or libsndfile delivers fewer frames than it announced), no frames. libsndfile
/// writes nothing to the terminal: its diagnostics go to its per-file log, unused here.
public enum AudioDecoder {
    /// Frames converted per `sf_readf_int` call when the file has several channels.
    static let chunkFrames = 16_384

    /// Decodes the whole file at `path`.
    ///
    /// - Parameter allowTruncated: decode what a truncated WAV holds instead of failing, as
    ///   torchaudio 0.13 does silently (sox only warns); the result's `declaredFrames` then
    ///   says how many frames the header promised. Off by default: a cut recording is an error.
    public static func decode(contentsOf path: String,
                              allowTruncated: Bool = false) throws(AudioDecodingError) -> DecodedAudio {
        let file = try SoundFile(path: path)
        let info = file.info
        let channels = Int(info.channels)
        let sampleRate = Int(info.samplerate)
        guard channels > 0 else {
            throw AudioDecodingError(path: path, function: "sf_open_fd",
                                     reason: .invalidHeader("it declares \(channels) audio channels"))
        }
        guard sampleRate > 0 else {
            throw AudioDecodingError(path: path, function: "sf_open_fd",
                                     reason: .invalidHeader("it declares a sample rate of \(sampleRate) Hz"))
        }
        let subtype = Int(info.format) & Int(SF_FORMAT_SUBMASK)
        let bitDepth = bitDepth(ofSubtype: subtype)
        let frames = Int(info.frames)
        var declaredFrames: Int?
        do {
            try checkComplete(file, frames: frames, channels: channels, bitDepth: bitDepth)
        } catch {
            guard allowTruncated, case .truncated(let declared, _) = error.reason else { throw error }
            declaredFrames = declared
        }
        guard frames > 0 else {
            throw AudioDecodingError(path: path, function: "sf_open_fd", reason: .noFrames)
        }

        let isFloat = subtype == Int(SF_FORMAT_FLOAT) || subtype == Int(SF_FORMAT_DOUBLE)
        let samples: [Float]
        if isFloat {
            samples = try readFloat(file, frames: frames, channels: channels)
        } else if channels == 1 {
            samples = try readMonoInt(file, frames: frames)
        } else {
            samples = try readMultichannelInt(file, frames: frames, channels: channels)
        }
        return DecodedAudio(samples: samples, sampleRate: sampleRate, channels: channels,
                            bitDepth: bitDepth, frames: frames, declaredFrames: declaredFrames)
    }

    /// Bits per sample of a libsndfile subtype (`SF_FORMAT_SUBMASK` part of the format):
    /// 8/16/24/32 for integer PCM, 32/64 for float/double, 0 otherwise.
    public static func bitDepth(ofSubtype subtype: Int) -> Int {
        switch subtype {
        case Int(SF_FORMAT_PCM_S8), Int(SF_FORMAT_PCM_U8): 8
        case Int(SF_FORMAT_PCM_16): 16
        case Int(SF_FORMAT_PCM_24): 24
        case Int(SF_FORMAT_PCM_32), Int(SF_FORMAT_FLOAT): 32
        case Int(SF_FORMAT_DOUBLE): 64
        default: 0
        }
    }

    /// torchaudio 0.13 (sox_io) scaling of a left-justified 32-bit sample: sox's
    /// `SOX_SAMPLE_TO_FLOAT_32BIT`.
    @inline(__always)
    public static func soxFloat(_ s: Int32) -> Float {
        if s > Int32.max - 64 { return 1 }
        return Float((s &+ 64) & ~127) * 0x1p-31
    }

    /// A RIFF/WAVE data chunk that runs past the end of the file is a truncated recording,
    /// although libsndfile would quietly decode what is there.
    static func checkComplete(_ file: SoundFile, frames: Int, channels: Int,
                                      bitDepth: Int) throws(AudioDecodingError) {
        guard let chunk = RIFFDataChunk.locate(fd: file.descriptor) else { return }
        let available = file.fileBytes - chunk.offset
        guard chunk.declaredBytes > available else { return }
        let bytesPerFrame = channels * bitDepth / 8
        let declaredFrames = bytesPerFrame > 0 ? chunk.declaredBytes / bytesPerFrame : nil
        throw AudioDecodingError(path: file.path, function: "RIFF data chunk",
                                 reason: .truncated(declaredFrames: declaredFrames, availableFrames: frames))
    }

    private static func shortRead(_ file: SoundFile, expected: Int, got: Int) -> AudioDecodingError {
        if let message = file.lastError {
            return AudioDecodingError(path: file.path, function: "sf_readf", reason: .readFailed(AudioDecodingError.plainWords(libsndfile: message)))
        }
        return AudioDecodingError(path: file.path, function: "sf_readf",
                                  reason: .truncated(declaredFrames: expected, availableFrames: got))
    }

    /// Mono integer PCM: the ints are read straight into the output's storage (Int32 and Float
    /// have the same size) and converted in place, so the only allocation is the result.
    static func readMonoInt(_ file: SoundFile, frames: Int) throws(AudioDecodingError) -> [Float] {
        var got = 0
        let samples = [Float](unsafeUninitializedCapacity: frames) { buffer, count in
            let floats = buffer.baseAddress!
            got = floats.withMemoryRebound(to: Int32.self, capacity: frames) { file.readFrames(into: $0, frames: frames) }
            let n = max(got, 0)
            let raw = UnsafeRawPointer(floats)
            for i in 0..<n {
                floats[i] = soxFloat(raw.load(fromByteOffset: i &* 4, as: Int32.self))
            }
            count = n
        }
        guard got == frames else { throw shortRead(file, expected: frames, got: max(got, 0)) }
        return samples
    }

    /// Several channels of integer PCM: each frame's channel mean of the sox-style floats.
    static func readMultichannelInt(_ file: SoundFile, frames: Int,
                                            channels: Int) throws(AudioDecodingError) -> [Float] {
        try readChannelMeans(file, frames: frames, channels: channels, as: Int32.self,
                             read: { file.readFrames(into: $0, frames: $1) }, toFloat: soxFloat)
    }

    /// Floating-point files: libsndfile's floats as stored, channel mean as above (one channel:
    /// the values themselves, as `x / 1 == x`).
    static func readFloat(_ file: SoundFile, frames: Int,
                                  channels: Int) throws(AudioDecodingError) -> [Float] {
        try readChannelMeans(file, frames: frames, channels: channels, as: Float.self,
                             read: { file.readFrames(into: $0, frames: $1) }, toFloat: { $0 })
    }

    /// Reads interleaved `Sample`s in chunks of ``chunkFrames`` frames with `read` and writes
    /// each frame's channel mean: the channels' `toFloat` values summed in channel order, then
    /// divided by the channel count (the reference's `mean(dim=0)` in float32).
    @inline(__always)
    private static func readChannelMeans<Sample: Numeric>(
        _ file: SoundFile, frames: Int, channels: Int, as _: Sample.Type,
        read: (UnsafeMutablePointer<Sample>, Int) -> Int, toFloat: (Sample) -> Float
    ) throws(AudioDecodingError) -> [Float] {
        var scratch = [Sample](repeating: 0, count: chunkFrames * channels)
        var samples = [Float](repeating: 0, count: frames)
        let divisor = Float(channels)
        var done = 0
        while done < frames {
            let want = min(chunkFrames, frames - done)
            let got = scratch.withUnsafeMutableBufferPointer { read($0.baseAddress!, want) }
            guard got == want else { throw shortRead(file, expected: frames, got: done + max(got, 0)) }
            scratch.withUnsafeBufferPointer { values in
                samples.withUnsafeMutableBufferPointer { out in
                    for f in 0..<got {
                        let row = f * channels
                        var sum = toFloat(values[row])
                        for c in 1..<channels { sum += toFloat(values[row + c]) }
                        out[done + f] = sum / divisor
                    }
                }
            }
            done += got
        }
        return samples
    }
}
