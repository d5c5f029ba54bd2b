import Durability
import Foundation

// Shards of a corpus whose labels are described by tasks (format `feature-shards/2`, e.g.
// SPRSound) instead of ICBHI's fixed `/label`, `/label2`, `/crackle`, `/wheeze`. The storage
// layer knows only task names and class lists; the corpus recipe supplies them.

/// One task of a feature set: its name (`1-1`), level (`event`, `record`) and classes in index order.
public struct ShardTask: Codable, Sendable, Equatable {
    public var name: String
    public var level: String
    public var classes: [String]

    public init(name: String, level: String, classes: [String]) {
        self.name = name
        self.level = level
        self.classes = classes
    }

    /// The shard dataset holding the task's class index per row: `1-1` -> `/task_1_1`.
    public var datasetName: String {
        "/task_" + name.map { $0.isLetter || $0.isNumber ? String($0) : "_" }.joined()
    }
}

/// The per-row columns of a task-described shard.
public struct TaskColumns: Sendable, Equatable {
    /// `event` or `record`.
    public var level: String
    /// One class index per task of the shard (in the order of its task list); -1 where the task
    /// does not apply to the row or the file carries no label for it.
    public var labels: [Int]
    /// Years, NaN when unknown.
    public var age: Double
    /// 0 male, 1 female, -1 unknown.
    public var gender: Int

    public init(level: String, labels: [Int], age: Double, gender: Int) {
        self.level = level
        self.labels = labels
        self.age = age
        self.gender = gender
    }
}

/// `index.json` of a task-described feature set: the common index plus `corpus` and `tasks`,
/// with `format` set to ``formatName``. Written here; read by `FeatureSetIndex` readers that know
/// the keys (an index without `corpus` is ICBHI's).
public struct CorpusFeatureSetIndex: Encodable, Sendable {
    public static let formatName = "feature-shards/2"

    public var index: FeatureSetIndex
    public var corpus: String
    public var tasks: [ShardTask]

    public init(index: FeatureSetIndex, corpus: String, tasks: [ShardTask]) {
        var index = index
        index.format = Self.formatName
        self.index = index
        self.corpus = corpus
        self.tasks = tasks
    }

    enum CodingKeys: String, CodingKey { case corpus, tasks }

    public func encode(to encoder: any Encoder) throws {
        try index.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(corpus, forKey: .corpus)
        try container.encode(tasks, forKey: .tasks)
    }

    public func write(directory: String) throws {
        try AtomicFile.writeJSON(self, to: directory + "/" + FeatureSetIndex.fileName)
    }
}
