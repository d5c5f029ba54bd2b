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
    /// Mixed precision (`--amp`): autocast plus a `GradScaler`. Optional so that checkpoints
    /// written before it existed still decode (nil: off).
    public var amp: Bool?

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
                      classWeights: nil, maBeta: maBeta)
    }
}
