/// The names of a shard's root datasets, the one table of them: the writer (`FeatureShard`),
/// the reader (`FeatureSet`, `ShardFile`), `prep verify` and the synthetic test shards read it.
/// The Python reader cannot import it: `python/icbhi_shards/__init__.py` keeps one table,
/// `DATASETS`, which `ShardDatasetNameTests` compares with ``icbhiLayout``.
public enum ShardDatasetName: String, CaseIterable, Sendable {
    case fbank
    case cycleID = "cycle_id"
    case recording, patient
    /// ICBHI layout only: the 4-class label, the 2-class label and the two flags.
    case label, label2, crackle, wheeze
    case split, fold, device, location, start, end
    /// Task-described layout (`feature-shards/2`) only, with one `task_*` per task (``taskPrefix``).
    case level, age, gender

    /// The prefix of a task's label dataset (`task_1_2`).
    public static let taskPrefix = "task_"

    /// Every dataset of an ICBHI shard (`icbhi-feature-shards/1`), in the order the writer writes them.
    public static let icbhiLayout: [ShardDatasetName] = [
        .fbank, .cycleID, .recording, .patient, .label, .label2, .crackle, .wheeze,
        .split, .fold, .device, .location, .start, .end,
    ]

    /// The name in the file.
    public var name: String { rawValue }
    /// The absolute path in the file (`/cycle_id`).
    public var path: String { "/" + rawValue }
}
