/// Why `prep synth` could not write its corpus.
public enum SynthesisError: Error, CustomStringConvertible, Sendable, Equatable {
    /// Bad input: a missing annotation directory, a malformed vendored annotation, a bad option.
    case input(String)
    /// The output directory holds files that are not a previous `prep synth` output.
    case notSyntheticDirectory(path: String, example: String)
    /// A file could not be written, renamed or removed.
    case write(path: String, reason: String)

    public var description: String {
        switch self {
        case .input(let message):
            message
        case .notSyntheticDirectory(let path, let example):
            "\(path): refusing to write into a non-empty directory that is not a prep synth output "
                + "(no synthetic README.txt; found \(example)); choose an empty or new directory"
        case .write(let path, let reason):
            "\(path): cannot write: \(reason)"
        }
    }
}
