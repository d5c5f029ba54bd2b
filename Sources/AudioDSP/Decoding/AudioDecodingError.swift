/// Why a recording could not be decoded, with the file it concerns and the C function that
/// reported the problem (when one did).
public struct AudioDecodingError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Reason: Sendable, Equatable {
        /// The file does not exist or cannot be opened (the system's message).
        case unreadable(String)
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

    public var description: String {
        switch reason {
        case .unreadable(let message):
            return "\(path): cannot open: \(message)"
        case .emptyFile:
            return "\(path): empty file (0 bytes), not a WAV recording"
        case .unrecognisedFormat(let message):
            return "\(path): not a readable sound file or corrupt header (\(function): \(message))"
        case .truncated(let declared, let available):
            let promised = declared.map { "the header declares \($0) frames" } ?? "the header declares more data"
            return "\(path): truncated: \(promised) but only \(available) can be read"
        case .noFrames:
            return "\(path): the recording holds no audio frames"
        case .invalidHeader(let message):
            return "\(path): invalid header: \(message)"
        case .readFailed(let message):
            return "\(path): reading samples failed (\(function): \(message))"
        }
    }
}
