
// The writing side of shards of a corpus whose labels are described by tasks (format
// `feature-shards/2`, e.g. SPRSound; tasks as `FeatureSetIndex.LabelTask`) instead of ICBHI's
// fixed `/label`, `/label2`, `/crackle`, `/wheeze`. The storage layer knows only task names and
// class lists; the corpus recipe supplies them.

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
