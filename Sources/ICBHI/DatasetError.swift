/// Why a piece of dataset knowledge could not be read.
///
/// Every case names the file (or the offending name) and, where there is one, the 1-based
/// line, so that a human can open the file and fix it; `description` renders that as
/// `file:line: reason`, the format compilers use and editors can jump to.
public enum DatasetError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A recording stem does not follow `PATIENT_INDEX_LOCATION_MODE_DEVICE`.
    case invalidStem(name: String, reason: String)
    /// A file could not be opened or decoded at all.
    case unreadableFile(file: String, reason: String)
    /// One line of a metadata file is malformed.
    case malformedLine(file: String, line: Int, reason: String)
    /// The files disagree with each other or themselves (duplicates, dangling references).
    case inconsistent(file: String, line: Int?, reason: String)

    /// The file (or, for `invalidStem`, the rejected name) the error is about.
    public var file: String {
        switch self {
        case .invalidStem(let name, _): name
        case .unreadableFile(let file, _), .malformedLine(let file, _, _), .inconsistent(let file, _, _): file
        }
    }

    /// The 1-based line the error is about, if it concerns a single line.
    public var line: Int? {
        switch self {
        case .invalidStem, .unreadableFile: nil
        case .malformedLine(_, let line, _): line
        case .inconsistent(_, let line, _): line
        }
    }

    /// What is wrong, in words.
    public var reason: String {
        switch self {
        case .invalidStem(_, let reason), .unreadableFile(_, let reason),
             .malformedLine(_, _, let reason), .inconsistent(_, _, let reason):
            reason
        }
    }

    public var description: String {
        switch self {
        case .invalidStem(let name, let reason): "invalid recording stem '\(name)': \(reason)"
        default: line.map { "\(file):\($0): \(reason)" } ?? "\(file): \(reason)"
        }
    }
}
