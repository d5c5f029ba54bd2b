/// Something odd found while reading an annotation file.
///
/// Parsing never stops at a bad line: the line is skipped (`skipped`) or kept with a remark
/// (`notice`), and the caller decides whether problems are fatal. Collecting them all in
/// one pass lets a report list every bad line of the corpus at once.
public struct Problem: Sendable, Equatable, CustomStringConvertible {
    public enum Severity: String, Sendable {
        /// The data was kept; the remark is informational.
        case notice
        /// The line (or, with `line == nil`, the whole file) contributes no cycle.
        case skipped
    }

    /// The file name as given to the parser.
    public let file: String
    /// 1-based line, or `nil` for a problem with the file as a whole.
    public let line: Int?
    public let reason: String
    public let severity: Severity

    public init(file: String, line: Int?, reason: String, severity: Severity) {
        self.file = file
        self.line = line
        self.reason = reason
        self.severity = severity
    }

    /// `file:line: reason`, or `file: reason` without a line.
    public var description: String {
        line.map { "\(file):\($0): \(reason)" } ?? "\(file): \(reason)"
    }
}
