import CTorch

/// Shape of one AST (REFERENCE.md "Model"), plus head and projector widths.
public struct ModelConfig: Codable, Sendable, Equatable {
    public var embedDim: Int
    public var depth: Int
    public var heads: Int
    public var mlpHidden: Int
    public var patchSize: Int
    public var fstride: Int
    public var tstride: Int
    public var inputFrames: Int
    public var inputBins: Int
    public var numClasses: Int
    /// Projector output width (768 in the papers; Patch-Mix CL compares it with the D-wide
    /// features, so there it must equal `embedDim`).
    public var projDim: Int
    /// Classes of the domain head (domain-adversarial training), nil or 0: no domain head.
    /// Optional so that checkpoints written before it existed still decode.
    public var domainClasses: Int?

    /// The paper's input: 798 frames (8 s at a 10 ms hop, as the AST code pads) x 128 mel bins.
    public static let paperInputFrames = 798
    public static let paperInputBins = 128
    /// ICBHI's class counts: 4 (normal/crackle/wheeze/both) or 2 (normal/abnormal). A label
    /// task's model (`--task`) has the task's class count, any from 2 on.
    public static let supportedClassCounts = [4, 2]

    public init(embedDim: Int, depth: Int, heads: Int, mlpHidden: Int? = nil, patchSize: Int = 16,
                fstride: Int, tstride: Int, inputFrames: Int = paperInputFrames, inputBins: Int = paperInputBins,
                numClasses: Int = 4, projDim: Int? = nil, domainClasses: Int? = nil) {
        self.embedDim = embedDim
        self.depth = depth
        self.heads = heads
        self.mlpHidden = mlpHidden ?? 4 * embedDim
        self.patchSize = patchSize
        self.fstride = fstride
        self.tstride = tstride
        self.inputFrames = inputFrames
        self.inputBins = inputBins
        self.numClasses = numClasses
        self.projDim = projDim ?? embedDim
        self.domainClasses = domainClasses
    }

    /// Patch grid for this input: (frequency, time) patches.
    public var patchGrid: (f: Int, t: Int) {
        ((inputBins - patchSize) / fstride + 1, (inputFrames - patchSize) / tstride + 1)
    }

    /// The shape's rules (`TrainingOptions.validate` checks them with the rest; a method's own
    /// requirements are its `validate`'s).
    public func validate() throws(TrainingError) {
        guard numClasses >= 2 else { throw .invalidOption("a model needs at least 2 classes (--classes 4 or 2, or a --task's)") }
        try Self.validate(heads: heads)
        guard embedDim % heads == 0 else {
            throw .invalidOption("--heads \(heads) does not divide the model width \(embedDim)")
        }
        guard projDim >= 1 else { throw .invalidOption("--proj-dim must be at least 1") }
    }

    /// `--heads` on its own (with `--init` the width it must divide comes from the file).
    public static func validate(heads: Int) throws(TrainingError) {
        guard heads >= 1 else { throw .invalidOption("--heads must be at least 1") }
    }

    var cConfig: ct_ast_config {
        ct_ast_config(embed_dim: Int32(embedDim), depth: Int32(depth), heads: Int32(heads),
                      mlp_hidden: Int32(mlpHidden), patch_size: Int32(patchSize), fstride: Int32(fstride),
                      tstride: Int32(tstride), input_frames: Int32(inputFrames), input_bins: Int32(inputBins),
                      num_classes: Int32(numClasses), proj_dim: Int32(projDim),
                      domain_classes: Int32(domainClasses ?? 0))
    }
}

/// `--negative-pair`: which pairs count as negatives in the contrastive loss.
public enum NegativePair: String, Codable, Sendable, CaseIterable {
    case all
    case diff_label

    var cValue: Int32 {
        switch self {
        case .all: Int32(CT_NEGATIVES_ALL.rawValue)
        case .diff_label: Int32(CT_NEGATIVES_DIFF_LABEL.rawValue)
        }
    }
}

/// A named model size with the training defaults that suit it.
public struct ModelPreset: Sendable {
    public var name: String
    public var model: ModelConfig
    /// Recipe defaults (the CLI's options override them).
    public var learningRate: Double
    public var weightDecay: Double
    public var batchSize: Int
    public var epochs: Int
    public var maBeta: Float
    public var summary: String

    /// `ast-base`: the paper (D 768, 12 blocks, 12 heads, strides 10/10), fine-tuned from AudioSet:
    /// Adam lr 5e-5, weight decay 1e-6, batch 8, 50 epochs, ma_beta 0.5.
    public static let astBase = ModelPreset(
        name: "ast-base", model: ModelConfig(embedDim: 768, depth: 12, heads: 12, fstride: 10, tstride: 10),
        learningRate: 5e-5, weightDecay: 1e-6, batchSize: 8, epochs: 50, maBeta: 0.5,
        summary: "paper: D 768, 12 blocks, 12 heads, strides 10/10 (AudioSet init)")
    /// `ast-tiny`: D 64, 2 blocks, 4 heads, strides 16/16, from scratch (lr 1e-3, batch 16).
    public static let astTiny = ModelPreset(
        name: "ast-tiny", model: ModelConfig(embedDim: 64, depth: 2, heads: 4, fstride: 16, tstride: 16),
        learningRate: 1e-3, weightDecay: 1e-6, batchSize: 16, epochs: 5, maBeta: 0,
        summary: "D 64, 2 blocks, 4 heads, strides 16/16, from scratch")
    /// `ast-small`: D 192, 4 blocks, 3 heads, strides 16/16, from scratch.
    public static let astSmall = ModelPreset(
        name: "ast-small", model: ModelConfig(embedDim: 192, depth: 4, heads: 3, fstride: 16, tstride: 16),
        learningRate: 5e-4, weightDecay: 1e-6, batchSize: 16, epochs: 10, maBeta: 0,
        summary: "D 192, 4 blocks, 3 heads, strides 16/16, from scratch")

    public static let all: [ModelPreset] = [astTiny, astSmall, astBase]

    public static func named(_ name: String) -> ModelPreset? { all.first { $0.name == name } }

    /// The preset called `name`, or an error listing the presets (`--model`).
    public static func resolve(_ name: String) throws(TrainingError) -> ModelPreset {
        guard let preset = named(name) else {
            throw .invalidOption("unknown --model \(name); presets: \(all.map(\.name).joined(separator: ", "))")
        }
        return preset
    }
}
