/// Why audio could not be resampled.
public struct ResamplingError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Reason: Sendable, Equatable {
        /// A rate is not positive, or the ratio is outside what the converter supports
        /// (libsamplerate: 1/256 to 256).
        case invalidRates(from: Int, to: Int, String)
        /// libsamplerate reported an error: its code and `src_strerror` message.
        case libsamplerate(code: Int32, message: String)
    }

    /// The C function that failed, or our check that refused the input.
    public let function: String
    public let reason: Reason

    public init(function: String, reason: Reason) {
        self.function = function
        self.reason = reason
    }

    public var description: String {
        switch reason {
        case .invalidRates(let from, let to, let why):
            "cannot resample \(from) Hz to \(to) Hz: \(why)"
        case .libsamplerate(let code, let message):
            "libsamplerate \(function) failed (error \(code)): \(message)"
        }
    }
}
