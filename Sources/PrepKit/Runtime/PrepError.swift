/// Why a `prep` command cannot go on. The message is meant for the user as is.
public enum PrepError: Error, CustomStringConvertible, Sendable {
    /// Bad input (file, line and reason in the message).
    case input(String)
    /// `--strict` found problems; nothing was written.
    case strict(problems: Int)
    /// Nothing valid remained after skipping bad items.
    case nothingValid(String)
    /// Writing the outputs failed (disk full, file-size limit, read-only cache).
    case output(String)
    /// Options that break a rule (see `IngestOptions.validate()`, `FeatureOptions.validate()`);
    /// every problem is listed, named as the command line spells the option.
    case invalidOptions([String])

    public var description: String {
        switch self {
        case .input(let message): message
        case .strict(let count): "--strict: \(count) problem\(count == 1 ? "" : "s") found (listed above); nothing was written"
        case .nothingValid(let message): message
        case .output(let message): message
        case .invalidOptions(let problems): problems.joined(separator: "\n")
        }
    }
}
