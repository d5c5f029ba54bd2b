import CSndFile
import Glibc

/// Writes PCM WAV files through libsndfile (`sf_open`, `sf_writef_float`): synthetic ICBHI-shaped
/// corpora and test fixtures are real WAVs, made by the same library that reads them.
public enum AudioEncoder {
    public struct EncodingError: Error, CustomStringConvertible, Sendable {
        public let path: String
        public let message: String
        public var description: String { "\(path): cannot write WAV: \(message)" }
    }

    /// Writes `samples` (interleaved when `channels` > 1, values in [-1, 1)) as integer PCM WAV.
    /// `bitDepth`: 16, 24 or 32. libsndfile clips out-of-range values instead of wrapping.
    public static func writeWAV(_ samples: [Float], sampleRate: Int, channels: Int = 1, bitDepth: Int = 16,
                                to path: String) throws(EncodingError) {
        let subtype: Int32
        switch bitDepth {
        case 16: subtype = Int32(SF_FORMAT_PCM_16)
        case 24: subtype = Int32(SF_FORMAT_PCM_24)
        case 32: subtype = Int32(SF_FORMAT_PCM_32)
        default: throw EncodingError(path: path, message: "unsupported bit depth \(bitDepth) (16, 24 or 32)")
        }
        precondition(channels >= 1 && samples.count % channels == 0, "samples must be whole frames")
        var info = SF_INFO()
        info.samplerate = Int32(sampleRate)
        info.channels = Int32(channels)
        info.format = Int32(SF_FORMAT_WAV) | subtype
        guard let file = sf_open(path, Int32(SFM_WRITE), &info) else {
            throw EncodingError(path: path, message: String(cString: sf_strerror(nil)))
        }
        sf_command(file, Int32(SFC_SET_CLIPPING), nil, Int32(SF_TRUE))
        let frames = samples.count / channels
        let written = samples.withUnsafeBufferPointer { sf_writef_float(file, $0.baseAddress, sf_count_t(frames)) }
        let message = String(cString: sf_strerror(file))
        sf_close(file)
        guard written == frames else { throw EncodingError(path: path, message: message) }
    }
}
