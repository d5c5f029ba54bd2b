import Foundation

/// Reads ICBHI annotation files: one cycle per line, `start end crackles wheezes`
/// (seconds, seconds, 0/1, 0/1), normally tab-separated.
///
/// The parser is total: it never throws and never traps, whatever the input. Each bad
/// line is skipped and reported as a `Problem` with its 1-based line, so one run can list
/// every defect of a corpus. The rules:
/// - line ends LF, CRLF or lone CR; blank and whitespace-only lines are ignored silently;
/// - fields are split on any run of ASCII whitespace;
/// - skipped: fewer than 4 fields; a time that is not a plain finite decimal number
///   (`nan`, `inf` and hex are rejected); a flag other than `0` or `1`; a negative time;
///   `end <= start` (a zero-length cycle cannot be tiled to 8 s);
/// - kept with a `notice`: more than 4 fields (the first four are used, the rest ignored;
///   no real file has them, but a trailing comment column should not lose a cycle);
/// - a file without any valid cycle gets one `skipped` problem with `line == nil` and the
///   reason `"empty annotation file"`.
public enum AnnotationParser {
    /// The reason given for a file that yields no cycle.
    public static let emptyFileReason = "empty annotation file"

    /// Parses annotation text; `file` only labels the problems.
    public static func parse(_ text: String, file: String) -> (cycles: [AnnotatedCycle], problems: [Problem]) {
        var cycles: [AnnotatedCycle] = []
        var problems: [Problem] = []
        for record in TextRecords.split(text) {
            func skip(_ reason: String) {
                problems.append(Problem(file: file, line: record.line, reason: reason, kind: .skippedCycle))
            }
            let fields = record.fields
            guard fields.count >= 4 else {
                skip("expected 4 fields 'start end crackles wheezes', found \(fields.count)")
                continue
            }
            guard let start = TextRecords.decimal(fields[0]) else {
                skip("start time '\(fields[0])' is not a finite decimal number")
                continue
            }
            guard let end = TextRecords.decimal(fields[1]) else {
                skip("end time '\(fields[1])' is not a finite decimal number")
                continue
            }
            guard let crackle = flag(fields[2]) else {
                skip("crackles flag '\(fields[2])' is not 0 or 1")
                continue
            }
            guard let wheeze = flag(fields[3]) else {
                skip("wheezes flag '\(fields[3])' is not 0 or 1")
                continue
            }
            guard start >= 0, end >= 0 else {
                skip("negative time (start \(fields[0]), end \(fields[1]))")
                continue
            }
            guard end > start else {
                skip("end \(fields[1]) is not after start \(fields[0])")
                continue
            }
            if fields.count > 4 {
                problems.append(Problem(
                    file: file, line: record.line,
                    reason: "\(fields.count - 4) extra field(s) after the 4th ignored", kind: .notice))
            }
            cycles.append(AnnotatedCycle(
                index: cycles.count, start: start, end: end, crackle: crackle, wheeze: wheeze, line: record.line))
        }
        if cycles.isEmpty {
            problems.append(Problem(file: file, line: nil, reason: emptyFileReason, kind: .skippedFile))
        }
        return (cycles, problems)
    }

    /// Parses raw bytes. Invalid UTF-8 is decoded lossily (bad bytes become U+FFFD, which
    /// then fails as a number on its line) and reported once as a file-level `notice`.
    public static func parse(_ data: Data, file: String) -> (cycles: [AnnotatedCycle], problems: [Problem]) {
        if let text = String(validating: data, as: UTF8.self) {
            return parse(text, file: file)
        }
        let result = parse(String(decoding: data, as: UTF8.self), file: file)
        let notice = Problem(
            file: file, line: nil, reason: "not valid UTF-8; undecodable bytes replaced", kind: .notice)
        return (result.cycles, [notice] + result.problems)
    }

    /// Reads and parses an annotation file; problems are labelled with its file name.
    ///
    /// - Throws: `DatasetError.unreadableFile` if the file cannot be read.
    public static func parse(contentsOf url: URL) throws(DatasetError) -> (cycles: [AnnotatedCycle], problems: [Problem]) {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw .unreadableFile(file: url.path, reason: error.localizedDescription)
        }
        return parse(data, file: url.lastPathComponent)
    }

    private static func flag(_ text: String) -> Bool? {
        switch text {
        case "0": false
        case "1": true
        default: nil
        }
    }
}
