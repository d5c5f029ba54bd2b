/// Why a recording could not be decoded, with the file it concerns and the C function that
/// reported the problem (when one did).
public struct AudioDecodingError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Reason: Sendable, Equatable {
        /// The file does not exist or cannot be opened (the system's message).
        case unreadable(String)
        /// A directory, named pipe, device or socket ("a named pipe"): refused before it is
        /// opened for reading, which could wait forever.
        case notRegularFile(String)
        /// The file is empty (0 bytes).
        case emptyFile
        /// Not a sound file libsndfile recognises, or its header is corrupt (`sf_strerror`).
        case unrecognisedFormat(String)
        /// The header promises more audio than the file holds.
        case truncated(declaredFrames: Int?, availableFrames: Int)
        /// The header is valid but the file holds no audio frames.
        case noFrames
        /// The header states a sample rate or channel count that cannot be used.
        case invalidHeader(String)
        /// Reading the samples failed (`sf_error` after a read).
        case readFailed(String)
    }

    /// The file that was being decoded.
    public let path: String
    /// The C function that reported the problem, or the check of ours that did.
    public let function: String
    public let reason: Reason

    public init(path: String, function: String, reason: Reason) {
        self.path = path
        self.function = function
        self.reason = reason
    }

    public var description: String { "\(path): \(cause)" }

    /// What is wrong, in words, without the file's name (for lists that name the file already).
    public var cause: String {
        switch reason {
        case .unreadable(let message):
            return "cannot open: \(message)"
        case .notRegularFile(let kind):
            return "not a regular file (\(kind)), not a WAV recording"
        case .emptyFile:
            return "empty file (0 bytes), not a WAV recording"
        case .unrecognisedFormat(let message):
            return "not a readable sound file: \(message)"
        case .truncated(let declared, let available):
            let promised = declared.map { "the header declares \($0) frames" } ?? "the header declares more data"
            return "truncated: \(promised) but only \(available) can be read"
        case .noFrames:
            return "the recording holds no audio frames"
        case .invalidHeader(let message):
            return "invalid header: \(message)"
        case .readFailed(let message):
            return "reading samples failed: \(message)"
        }
    }

    /// libsndfile's error text (`sf_strerror`) in plain words: what is wrong with the file,
    /// without the library's phrasing ("Error in WAV file. ...", "Bad karma ...").
    static func plainWords(libsndfile message: String) -> String {
        let m = message.lowercased()
        let table: [(String, String)] = [
            ("channel count is zero", "the header declares zero audio channels"),
            ("channel count", "the header declares an impossible number of audio channels"),
            ("number of channels", "the header declares an impossible number of audio channels"),
            ("sample rate", "the header declares an impossible sample rate"),
            ("no 'riff'", "not a WAV file (no RIFF header)"),
            ("no 'wave'", "not a WAV file (no WAVE header)"),
            ("no 'data'", "no audio data section ('data' chunk): truncated or corrupt"),
            ("'fmt ' chunk", "the format section ('fmt ' chunk) is missing or corrupt"),
            ("block alignment", "the format section ('fmt ' chunk) states an inconsistent frame size"),
            ("unsupported encoding", "the audio is stored in an encoding this program cannot read"),
            ("unimplemented format", "the audio is stored in an encoding this program cannot read"),
            ("bit width", "the header declares an impossible sample size"),
            ("sample size", "the header declares an impossible sample size"),
            ("no data could be read", "no data could be read from it"),
            ("system error", "the system reported a read error"),
            ("format not recognised", "corrupt or unrecognised header"),
            ("malformed", "corrupt header"),
            ("chunk", "corrupt header (a damaged section)"),
        ]
        return table.first { m.contains($0.0) }?.1 ?? "corrupt or unsupported header"
    }
}
