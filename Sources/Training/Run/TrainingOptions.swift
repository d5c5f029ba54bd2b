import Foundation

/// Everything that defines a training run; stored in every checkpoint's meta.
public struct TrainingOptions: Codable, Sendable, Equatable {
    public var preset: String
    public var model: ModelConfig
    public var method: TrainingMethod = .patchmix_cl
    public var alpha: Float = 1
    public var temperature: Float = 0.06
    public var mixBeta: Double = 1
    public var negativePair: NegativePair = .all
    public var learningRate: Double
    public var weightDecay: Double
    public var batchSize: Int
    public var evalBatchSize: Int = 32
    public var epochs: Int
    public var maBeta: Float
    public var seed: UInt64 = 1
    public var specAugment: Bool = true
    public var classWeightedLoss: Bool = false
    public var weightedSampler: Bool = false
    public var device: String = "cpu"
    public var initCheckpoint: String?
    /// How `--init` adapts the AudioSet positional-embedding grid (nil in checkpoints written
    /// before this option existed: those runs used `aligned`).
    public var posEmbed: PositionalEmbeddingInit? = .paper
    /// Drop each epoch's last incomplete batch, as the paper's loader (`drop_last=True`). nil in
    /// checkpoints written before this option existed: those runs kept it.
    public var dropLastBatch: Bool? = true
    /// `--test-fold k`: train on the other patient-wise folds, test on fold k (nil: official split).
    public var testFold: Int?
    /// Where checkpoints (best.pth, last.pth) and log.jsonl go.
    public var outputDirectory: String
    /// Feature set the run trains on (name and id from index.json), when known.
    public var featureSet: String?
    public var featureSetID: String?
    /// The feature set's preprocessing (nil in checkpoints written before it was recorded).
    public var features: FeatureProvenance?
    /// Mixed precision (`--amp`): autocast plus a `GradScaler`. Optional so that checkpoints
    /// written before it existed still decode (nil: off).
    public var amp: Bool?
    /// `--meta`: the cycles' groups of sgscl and dat (nil: their default, the stethoscope).
    public var meta: CycleMetadata?
    /// `--target-type` of sgscl (nil: project1_project2block).
    public var targetType: ContrastiveTarget?
    /// `--meta-file`: the per-patient metadata (age, sex, chest location) for --meta age|sex|loc
    /// (nil: manifests/icbhi/metadata.txt).
    public var metaFile: String?
    /// `--task`: the label task of a feature set with tasks (SPRSound's 1-1, 1-2, 2-1, 2-2); nil
    /// for ICBHI (4 or 2 classes), and absent from ICBHI runs' checkpoints and results.
    public var task: String?

    /// Options with the preset's recipe defaults.
    public init(preset: ModelPreset, outputDirectory: String) {
        self.preset = preset.name
        model = preset.model
        learningRate = preset.learningRate
        weightDecay = preset.weightDecay
        batchSize = preset.batchSize
        epochs = preset.epochs
        maBeta = preset.maBeta
        self.outputDirectory = outputDirectory
    }

    var objective: StepObjective {
        StepObjective(method: method, alpha: alpha, temperature: temperature, negativePair: negativePair,
                      classWeights: nil, maBeta: maBeta, targetType: targetType ?? .project1_project2block)
    }
}

extension TrainingOptions {
    /// Every rule on a run's options, in one place. The `train` command calls it before it writes
    /// anything (so a bad option fails there, with this one message), `Trainer` before it builds a
    /// model. The messages name the command-line option that sets the value.
    public func validate() throws(TrainingError) {
        try model.validate()
        if task == nil {
            guard ModelConfig.supportedClassCounts.contains(model.numClasses) else { throw .invalidOption("--classes must be 4 or 2") }
        } else {
            try validateTaskRun()
        }
        try method.definition.validate(self)
        guard batchSize >= 2 else { throw .invalidOption("--batch-size must be at least 2") }
        guard evalBatchSize >= 1 else { throw .invalidOption("the evaluation batch size must be at least 1") }
        guard epochs >= 1 else { throw .invalidOption("--epochs must be at least 1") }
        // --lr 0 is allowed: an untrained baseline (scripts/train_synthetic.sh, SyntheticTrainingTests).
        guard learningRate.isFinite && learningRate >= 0 else { throw .invalidOption("--lr must be a number >= 0") }
        guard weightDecay.isFinite && weightDecay >= 0 else { throw .invalidOption("--weight-decay must be a number >= 0") }
        guard maBeta.isFinite && maBeta >= 0 && maBeta < 1 else {
            throw .invalidOption("--ma-beta must be in [0, 1) (0 disables the moving average)")
        }
        guard alpha.isFinite && alpha >= 0 else { throw .invalidOption("--alpha must be a number >= 0") }
        guard temperature.isFinite && temperature > 0 else { throw .invalidOption("--temperature must be positive") }
        guard mixBeta.isFinite && mixBeta > 0 else { throw .invalidOption("--mix-beta must be positive") }
        try Self.validate(device: device)
        if let testFold, !FoldSelection.folds.contains(testFold) {
            throw .invalidOption("--test-fold \(testFold): folds are \(FoldSelection.folds.lowerBound)-\(FoldSelection.folds.upperBound)")
        }
    }

    /// `--device`: cpu, or cuda with an optional index (cuda:1).
    public static func validate(device: String) throws(TrainingError) {
        guard device == "cpu" || device.hasPrefix("cuda") else { throw .invalidOption("--device must be cpu or cuda") }
    }
}

extension TrainingOptions {
    /// A label task's run (`--task`): SPRSound ships official splits and no patient-wise folds,
    /// and none of the metadata sgscl and dat group by (stethoscope, ICBHI's metadata.txt).
    func validateTaskRun() throws(TrainingError) {
        guard let task else { return }
        if testFold != nil {
            throw .invalidOption("--test-fold is ICBHI's patient-wise folds; --task \(task) trains on the feature set's train split and tests on each of its test splits")
        }
        // dat's domain head has --meta's fixed group count (label: ICBHI's 4), not the task's.
        if let kind = method.definition.groups(self), kind != .label || (method.definition.model(self).domainClasses ?? 0) > 0 {
            throw .invalidOption("--method \(method.rawValue) groups cycles by --meta \(kind.rawValue), which --task \(task) feature sets do not carry "
                                 + "(no stethoscope, no ICBHI metadata.txt): use ce, patchmix or patchmix_cl (or sgscl with --meta label)")
        }
    }
}

