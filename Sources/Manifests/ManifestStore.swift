import Durability
import Foundation

/// The two manifests ingest writes (`recordings.csv`, `cycles.csv`) and reads back.
/// CSV with a header row: `pandas.read_csv` and `cut`/`awk` read them without help.
public struct ManifestStore: Sendable {
    public let directory: String

    public init(directory: String) { self.directory = directory }

    public var recordingsPath: String { directory + "/recordings.csv" }
    public var cyclesPath: String { directory + "/cycles.csv" }

    /// Every problem the last ingest reported (skipped items, clamped cycles, notices).
    public var problemsPath: String { directory + "/ingest-problems.csv" }

    public var exists: Bool {
        FileManager.default.fileExists(atPath: recordingsPath) && FileManager.default.fileExists(atPath: cyclesPath)
    }

    /// Encodes both manifests; returned so callers can compare before writing.
    public static func encode(recordings: [RecordingRecord], cycles: [CycleRecord]) -> (recordings: String, cycles: String) {
        (CSVTable(header: RecordingRecord.header, rows: recordings.map(\.fields)).encoded(),
         CSVTable(header: CycleRecord.header, rows: cycles.map(\.fields)).encoded())
    }

    /// Writes both manifests atomically (cycles first, so recordings.csv marks completion).
    public func write(recordings: String, cycles: String) throws {
        try AtomicFile.makeDirectory(directory)
        try AtomicFile.write(Data(cycles.utf8), to: cyclesPath)
        try AtomicFile.write(Data(recordings.utf8), to: recordingsPath)
    }

    /// Writes `ingest-problems.csv` (only when its content changes, so reruns stay no-ops).
    public func writeProblems(_ problems: [ProblemRecord]) throws {
        let text = CSVTable(header: ProblemRecord.header, rows: problems.map(\.fields)).encoded()
        if FileManager.default.contents(atPath: problemsPath) == Data(text.utf8) { return }
        try AtomicFile.makeDirectory(directory)
        try AtomicFile.write(Data(text.utf8), to: problemsPath)
    }

    public func readProblems() throws -> [ProblemRecord] {
        let table = try CSVTable(parsing: Self.text(at: problemsPath), path: problemsPath)
        let c = try (severity: table.column("severity", path: problemsPath), file: table.column("file", path: problemsPath),
                     line: table.column("line", path: problemsPath), reason: table.column("reason", path: problemsPath))
        // Files written before the `kind` column have none: their rows read with `kind == nil`.
        let kind = table.header.firstIndex(of: "kind")
        return table.rows.map { row in
            ProblemRecord(severity: row[c.severity], kind: kind.map { row[$0] }, file: row[c.file],
                          line: Int(row[c.line]), reason: row[c.reason])
        }
    }

    public func readRecordings() throws -> [RecordingRecord] {
        try RecordingRecord.read(table: CSVTable(parsing: Self.text(at: recordingsPath), path: recordingsPath),
                                 path: recordingsPath)
    }

    public func readCycles() throws -> [CycleRecord] {
        try CycleRecord.read(table: CSVTable(parsing: Self.text(at: cyclesPath), path: cyclesPath), path: cyclesPath)
    }

    /// SHA-256 of the cycles manifest: the identity of an ingest's output, used by feature sets.
    public func cyclesDigest() throws -> String {
        try FileDigest.sha256(ofFileAt: cyclesPath)
    }

    static func text(at path: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw StoreError.io(path: path, reason: "cannot read (run `prep ingest` first)")
        }
        return String(decoding: data, as: UTF8.self)
    }
}

/// One row of `ingest-problems.csv`: something ingest skipped, clamped or noticed.
///
/// `kind` says what happened (`skipped_file`, `skipped_cycle`, `clamped_cycle`, `notice`; see
/// `ICBHI.Problem.Kind`); it is `nil` for a row read from a file written before the column existed.
/// The column comes last so that readers of the older four columns by position still work.
public struct ProblemRecord: Sendable, Equatable {
    public var severity: String
    public var kind: String?
    public var file: String
    public var line: Int?
    public var reason: String

    public init(severity: String, kind: String?, file: String, line: Int?, reason: String) {
        self.severity = severity
        self.kind = kind
        self.file = file
        self.line = line
        self.reason = reason
    }

    public static let header = ["severity", "file", "line", "reason", "kind"]
    public var fields: [String] { [severity, file, line.map(String.init) ?? "", reason, kind ?? ""] }
}
