import FeatureStore

/// How the features a run trained on were made, copied from the feature set's `index.json` into
/// the checkpoint meta (`TrainingOptions.features`), so that `predict` can apply exactly that
/// preprocessing to new recordings: every defining option of `prep features` (length, padding,
/// the `fbank_*` options), the normalisation with its statistics, and the ingest's resampler.
/// Checkpoints written before it existed have none: `predict` then uses the paper's pipeline.
public struct FeatureProvenance: Codable, Sendable, Equatable {
    public var options: [String: FeatureSetIndex.OptionValue]
    public var normalisation: FeatureSetIndex.Normalisation
    /// `prep ingest --resampler` (`source.resampler` of the index); nil if the index lacks it.
    public var resampler: String?
    /// The index's label tasks (name, level, class names) of a set with tasks (SPRSound), so that
    /// `predict` names a `--task` model's classes and knows its level from the checkpoint alone;
    /// nil (and absent from the meta) for ICBHI sets and checkpoints written before.
    public var tasks: [FeatureSetIndex.LabelTask]?

    public init(options: [String: FeatureSetIndex.OptionValue], normalisation: FeatureSetIndex.Normalisation, resampler: String?) {
        self.options = options
        self.normalisation = normalisation
        self.resampler = resampler
    }

    public init(index: FeatureSetIndex) {
        self.init(options: index.options, normalisation: index.normalisation, resampler: index.source["resampler"])
        tasks = index.tasks.flatMap { $0.isEmpty ? nil : $0 }
    }
}
