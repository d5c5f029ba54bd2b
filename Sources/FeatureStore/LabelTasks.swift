import Durability
import Foundation

/// The reading side of feature sets of corpora other than ICBHI (`feature-shards/2`, fixed in the
/// SPRSound shard spec): `index.json` names the corpus and its label tasks, and each shard holds
/// one int8 `/task_<name>` dataset per task (the row's class index, -1 where the task does not
/// apply). ICBHI sets have neither and keep their implicit `/label` (4-class) and `/label2`.
extension FeatureSetIndex {
    /// What a missing `corpus` means: every index written before corpora existed is ICBHI's.
    public static let icbhiCorpus = "icbhi"

    /// One label task of a corpus: its name (`1-2`), level (`event` or `record`) and class names
    /// in class-index order.
    public struct LabelTask: Codable, Sendable, Equatable {
        public var name: String
        public var level: String
        public var classes: [String]

        public init(name: String, level: String, classes: [String]) {
            self.name = name
            self.level = level
            self.classes = classes
        }

        /// The per-row dataset of this task: `task_1_2` for `1-2`.
        public var datasetName: String { ShardDatasetName.taskPrefix + name.replacingOccurrences(of: "-", with: "_") }
    }

    /// The corpus of the rows (`icbhi` when the index does not say).
    public var corpusName: String { corpus ?? Self.icbhiCorpus }

    /// The task called `name`, nil when the index has none of that name.
    public func task(named name: String) -> LabelTask? { tasks?.first { $0.name == name } }

    /// The index's own rules on corpus and tasks: a `feature-shards/2` index names its corpus,
    /// task names are unique and each task has at least two classes.
    func checkTasks(path: String) throws {
        if format == Self.corpusFormatName && corpus == nil {
            throw StoreError.malformed(path: path, line: nil, reason: "format '\(format)' without \"corpus\"")
        }
        var seen = Set<String>()
        for task in tasks ?? [] {
            guard !task.name.isEmpty, seen.insert(task.name).inserted else {
                throw StoreError.malformed(path: path, line: nil, reason: "task name '\(task.name)' is empty or listed twice")
            }
            guard task.classes.count >= 2 else {
                throw StoreError.malformed(path: path, line: nil, reason: "task \(task.name) has \(task.classes.count) class(es), needs at least 2")
            }
        }
    }
}
