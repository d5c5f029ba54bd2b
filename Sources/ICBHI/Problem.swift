/// Something odd found while reading the corpus: a bad annotation line, an unusable file, a
/// cycle clamped to its audio.
///
/// Reading never stops at a bad item: the item is skipped or kept with a remark, and the caller
/// decides whether problems are fatal. Collecting them all in one pass lets a report list every
/// bad item of the corpus at once. Callers decide by `kind`, never by `reason`: the reason is
/// for people and may be reworded freely.
public struct Problem: Sendable, Equatable, CustomStringConvertible {
    /// What happened to the item. The raw values are those of `ingest-problems.csv`'s `kind` column.
    public enum Kind: String, Sendable, CaseIterable {
        /// A whole file (or recording) contributes nothing: unusable name, missing partner,
        /// duplicate, unreadable or undecodable, no valid cycle.
        case skippedFile = "skipped_file"
        /// One annotation line or cycle contributes nothing (bad line, empty after clamping).
        case skippedCycle = "skipped_cycle"
        /// A cycle ending after its audio, kept with its end clamped to the audio's end.
        case clampedCycle = "clamped_cycle"
        /// Kept as it is; the remark is informational (old archive name, extra fields, ...).
        case notice

        /// `skipped` for the kinds that drop data, `notice` for those that keep it.
        public var severity: Severity {
            switch self {
            case .skippedFile, .skippedCycle: .skipped
            case .clampedCycle, .notice: .notice
            }
        }
    }

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
    public let kind: Kind

    public init(file: String, line: Int?, reason: String, kind: Kind) {
        self.file = file
        self.line = line
        self.reason = reason
        self.kind = kind
    }

    public var severity: Severity { kind.severity }

    /// `file:line: reason`, or `file: reason` without a line.
    public var description: String {
        line.map { "\(file):\($0): \(reason)" } ?? "\(file): \(reason)"
    }
}
