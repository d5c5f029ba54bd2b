import Durability
import FeatureStore
import Foundation

/// Per-cycle (or per-window) class probabilities: the rows `predict` writes and
/// `train --eval --predictions` writes for a feature set's split, in one format so that the two
/// can be compared line by line: `recording,start,end,p_<class>...,predicted`. The rows of
/// `train --eval --predictions` for a label task's checkpoint (several test splits) add `split`.
public struct PredictionRow: Sendable, Equatable {
    public var recording: String
    /// Seconds from the start of the recording.
    public var start: Double
    public var end: Double
    public var probabilities: [Double]
    /// The feature set's split the row is of (task evaluations only).
    public var split: String?

    public init(recording: String, start: Double, end: Double, probabilities: [Double], split: String? = nil) {
        self.recording = recording
        self.start = start
        self.end = end
        self.probabilities = probabilities
        self.split = split
    }

    /// The most probable class (the first on a tie).
    public var predicted: Int { probabilities.indices.max { probabilities[$0] < probabilities[$1] || (probabilities[$0] == probabilities[$1] && $0 > $1) } ?? 0 }

    /// Softmax of one cycle's logits, in Double (both commands use this one function).
    public static func probabilities(logits: ArraySlice<Float>) -> [Double] {
        let top = Double(logits.max() ?? 0)
        let e = logits.map { exp(Double($0) - top) }
        let sum = e.reduce(0, +)
        return e.map { $0 / sum }
    }

    /// Rows for `logits` (`classes` per row) of the given spans.
    public static func rows(logits: [Float], classes: Int, spans: [(recording: String, start: Double, end: Double)],
                            split: String? = nil) -> [PredictionRow] {
        precondition(logits.count == spans.count * classes, "logits do not match the rows")
        return spans.enumerated().map { i, span in
            PredictionRow(recording: span.recording, start: span.start, end: span.end,
                          probabilities: probabilities(logits: logits[(i * classes)..<((i + 1) * classes)]), split: split)
        }
    }
}

/// Class names of a model: 4 (normal, crackle, wheeze, both) or 2 (normal, abnormal).
public enum ClassNames {
    public static func names(classes: Int) -> [String] {
        switch classes {
        case 4: ["normal", "crackle", "wheeze", "both"]
        case 2: ["normal", "abnormal"]
        default: (0..<classes).map { "c\($0)" }
        }
    }
}

/// One recording's verdict. Rule: the class predicted for the most rows; a tie goes to the class
/// with the higher mean probability over all rows (then the lower class number).
public struct RecordingSummary: Sendable, Equatable {
    public var recording: String
    public var rows: Int
    /// Rows per predicted class.
    public var counts: [Int]
    /// Mean probability of each class over the rows.
    public var meanProbabilities: [Double]
    public var call: Int

    public static let rule = "call = the class predicted for the most rows (ties: higher mean probability)"

    public init(recording: String, rows: [PredictionRow], classes: Int) {
        self.recording = recording
        self.rows = rows.count
        var counts = [Int](repeating: 0, count: classes), means = [Double](repeating: 0, count: classes)
        for row in rows {
            counts[row.predicted] += 1
            for c in 0..<classes { means[c] += row.probabilities[c] / Double(max(1, rows.count)) }
        }
        self.counts = counts
        meanProbabilities = means
        call = (0..<classes).max { a, b in
            (counts[a], means[a], -a) < (counts[b], means[b], -b)
        } ?? 0
    }

    public func line(names: [String], unit: String) -> String {
        let tally = names.indices.map { "\(names[$0]) \(counts[$0])" }.joined(separator: ", ")
        let abnormal = rows - counts[0]
        return "\(recording): \(rows) \(unit)\(rows == 1 ? "" : "s"): \(tally); abnormal \(abnormal)/\(rows); call \(names[call])"
    }
}

/// Writes prediction rows as CSV (streamed, one recording at a time) or as one JSON document
/// (written by ``finish()``), to a file (a temp file renamed over it at the end: a killed run leaves
/// the previous file or none) or standard output.
public final class PredictionWriter {
    public enum Format: Sendable { case csv, json }
    public let format: Format
    public let names: [String]
    /// Whether rows carry their split (a last CSV column `split`, a JSON key).
    public let splitColumn: Bool
    private let path: String?
    private let handle: FileHandle
    private let temporary: String?
    private var json: [[String: Any]] = []
    private var jsonSummaries: [[String: Any]] = []
    public var metadata: [String: Any] = [:]

    /// `path` nil or "-": standard output.
    public convenience init(path: String?, format: Format, classes: Int) throws(TrainingError) {
        try self.init(path: path, format: format, names: ClassNames.names(classes: classes))
    }

    /// `names`: the classes, in the model's order (columns `p_<name>`; a task's names as its
    /// feature set gives them, e.g. `p_Coarse Crackle`).
    public init(path: String?, format: Format, names: [String], splitColumn: Bool = false) throws(TrainingError) {
        self.format = format
        self.names = names
        self.splitColumn = splitColumn
        if let path, path != "-" {
            // Streamed into AtomicFile's temp file, published (renamed, directory synced) at the end.
            let temporary = AtomicFile.temporaryPath(for: path)
            guard FileManager.default.createFile(atPath: temporary, contents: nil),
                  let handle = FileHandle(forWritingAtPath: temporary) else {
                throw .writeFailed("\(path): cannot write the predictions there")
            }
            self.path = path
            self.temporary = temporary
            self.handle = handle
        } else {
            self.path = nil
            temporary = nil
            handle = FileHandle.standardOutput
        }
        if format == .csv {
            write((["recording", "start", "end"] + names.map { "p_\($0)" } + ["predicted"] + (splitColumn ? ["split"] : [])).joined(separator: ",") + "\n")
        }
    }

    private func write(_ text: String) { handle.write(Data(text.utf8)) }

    /// Numbers as Swift prints them (start/end as the annotation said them), probabilities to 1e-8.
    public static func csvLine(_ row: PredictionRow, names: [String]) -> String {
        func field(_ text: String) -> String {
            text.contains(",") || text.contains("\"") ? "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : text
        }
        return ([field(row.recording), "\(row.start)", "\(row.end)"] + row.probabilities.map { String(format: "%.8f", $0) }
                + [field(names[row.predicted])] + (row.split.map { [field($0)] } ?? [])).joined(separator: ",")
    }

    public func append(_ rows: [PredictionRow]) {
        switch format {
        case .csv:
            write(rows.map { Self.csvLine($0, names: names) + "\n" }.joined())
        case .json:
            json += rows.map { row in
                var object: [String: Any] = ["recording": row.recording, "start": row.start, "end": row.end,
                                             "probabilities": Dictionary(uniqueKeysWithValues: zip(names, row.probabilities)),
                                             "predicted": names[row.predicted]]
                if let split = row.split { object["split"] = split }
                return object
            }
        }
    }

    /// JSON only: the per-recording summaries (CSV keeps rows only; summaries go to the console).
    public func append(_ summary: RecordingSummary) {
        jsonSummaries.append(["recording": summary.recording, "rows": summary.rows,
                              "counts": Dictionary(uniqueKeysWithValues: zip(names, summary.counts)),
                              "mean_probabilities": Dictionary(uniqueKeysWithValues: zip(names, summary.meanProbabilities)),
                              "call": names[summary.call]])
    }

    /// Writes the JSON document (JSON format) and publishes the file (rename over `path`).
    public func finish() throws(TrainingError) {
        if format == .json {
            var document = metadata
            document["classes"] = names
            document["rows"] = json
            document["summaries"] = jsonSummaries
            document["summary_rule"] = RecordingSummary.rule
            do {
                write(String(decoding: try JSONSerialization.data(withJSONObject: document, options: [.prettyPrinted, .sortedKeys]), as: UTF8.self) + "\n")
            } catch { throw .writeFailed("cannot encode the predictions as JSON: \(error)") }
        }
        guard let path, let temporary else { return }
        do {
            try handle.synchronize()
            try handle.close()
            try AtomicFile.publish(temporary, as: path)
        } catch { throw .writeFailed("\(path): cannot write the predictions: \(error)") }
    }
}

extension TrainingSession {
    /// `train --eval --predictions FILE` for what `evaluate(checkpoint:...)` returned: a label
    /// task's checkpoint gets the rows of every test split it evaluated (`writeTaskPredictions`),
    /// any other the test split's cycles with its 4 or 2 classes.
    public static func writePredictions(_ evaluation: Evaluation, shards: String, to path: String) throws(TrainingError) {
        if evaluation.task != nil {
            try writeTaskPredictions(evaluation, shards: shards, to: path)
        } else {
            try writePredictions(evaluation, shards: shards, classes: evaluation.confusion.matrix.count, to: path)
        }
    }

    /// A label task's evaluation: one row per row of each test split the task labels (in the
    /// order the evaluation read them: `FeatureSet.rows(split:task:)`), the split named in a last
    /// column; the columns are the task's class names. `.json` files get JSON, others CSV.
    public static func writeTaskPredictions(_ evaluation: Evaluation, shards: String, to path: String) throws(TrainingError) {
        guard let name = evaluation.task, evaluation.testLogits.count == evaluation.tests.count, !evaluation.tests.isEmpty else {
            throw .invalidOption("--predictions: the evaluation has no task test splits")
        }
        let names: [String]
        var rows: [PredictionRow] = []
        do {
            let set = try FeatureSet(directory: shards)
            guard let task = set.index.task(named: name) else {
                throw TrainingError.shards(path: shards, message: "has no task \(name)")
            }
            names = task.classes
            let classes = task.classes.count
            for (test, logits) in zip(evaluation.tests, evaluation.testLogits) {
                // The rows `ShardCycles(directory:split:task:)` evaluated, in its order.
                let spans = try set.rows(split: test.split, task: task).recordingSpans()
                guard spans.count * classes == logits.count else {
                    throw TrainingError.shards(path: shards, message: "the \(test.split) split has \(spans.count) rows of task \(name), the evaluation \(logits.count / max(1, classes))")
                }
                rows += PredictionRow.rows(logits: logits, classes: classes, spans: spans, split: test.split)
            }
        } catch let error as TrainingError {
            throw error
        } catch { throw .shards(path: shards, message: "\(error)") }
        let writer = try PredictionWriter(path: path, format: path.hasSuffix(".json") ? .json : .csv, names: names, splitColumn: true)
        writer.metadata = ["task": name]
        writer.append(rows)
        try writer.finish()
    }

    /// `train --eval --predictions FILE`: one row per cycle of `split` (the order `evaluate` read
    /// them in), the probabilities from `evaluation`'s logits. `.json` files get JSON, others CSV.
    public static func writePredictions(_ evaluation: Evaluation, shards: String, split: String = "test",
                                        classes: Int, to path: String) throws(TrainingError) {
        var spans: [(recording: String, start: Double, end: Double)] = []
        do {
            // The same shards in the same order as `ShardCycles(directory:split:)` reads them.
            let set = try FeatureSet(directory: shards)
            for shard in set.index.shards where shard.split == split {
                spans += try set.open(shard).recordingSpans()
            }
        } catch { throw .shards(path: shards, message: "\(error)") }
        guard spans.count * classes == evaluation.logits.count else {
            throw .shards(path: shards, message: "the \(split) split has \(spans.count) cycles, the evaluation \(evaluation.logits.count / max(1, classes))")
        }
        let writer = try PredictionWriter(path: path, format: path.hasSuffix(".json") ? .json : .csv, classes: classes)
        writer.append(PredictionRow.rows(logits: evaluation.logits, classes: classes, spans: spans))
        try writer.finish()
    }
}
