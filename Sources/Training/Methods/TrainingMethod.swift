/// A training objective: one file composing the bridge's primitives (`StepGraph`) into a loss,
/// plus the random decisions its steps need. Adding a method is its file and one entry in
/// `TrainingMethod.registry`; `--method`, sweeps, `train report`, `--benchmark-steps` and the
/// help text all read the registry.
public protocol TrainingMethodDefinition: Sendable {
    /// The `--method` name.
    var name: String { get }
    /// One line for the help text.
    var summary: String { get }
    /// Whether the batch loader applies SpecAugment to each cycle (the Patch-Mix code's dataset
    /// does); false when the method augments the whole batch itself (the SG-SCL code's loop).
    var augmentsEachCycle: Bool { get }
    /// The per-cycle groups (metadata) the loss needs, if any.
    func groups(_ options: TrainingOptions) -> CycleMetadata?
    /// The model this method trains for `options` (e.g. with a domain head).
    func model(_ options: TrainingOptions) -> ModelConfig
    /// The method's rules on the options (`TrainingOptions.validate` calls it).
    func validate(_ options: TrainingOptions) throws(TrainingError)
    /// One step's random decisions, each from its own generator (seed, purpose, position), so
    /// they do not depend on thread timing. `x` is the batch as loaded.
    func draws(x: [Float], batch: Int, model: ASTModel, options: TrainingOptions, at position: StepPosition) -> StepDraws
    /// The loss of one step: the objective built from primitives.
    func loss(in graph: StepGraph, _ input: StepInput, _ objective: StepObjective) throws(TorchError) -> MethodLoss
    /// The published figures a run configured as published is shown beside, or nil.
    func published(_ result: RunResult) -> PaperFigures?
}

extension TrainingMethodDefinition {
    public var augmentsEachCycle: Bool { true }
    public func groups(_ options: TrainingOptions) -> CycleMetadata? { nil }
    public func model(_ options: TrainingOptions) -> ModelConfig { options.model }
    public func validate(_ options: TrainingOptions) throws(TrainingError) {}
    public func draws(x: [Float], batch: Int, model: ASTModel, options: TrainingOptions,
                      at position: StepPosition) -> StepDraws { StepDraws() }
    public func published(_ result: RunResult) -> PaperFigures? { nil }

    /// One whole step: the graph, the loss, backward, Adam, moving average.
    public func step(model: ASTModel, input: StepInput, objective: StepObjective,
                     lossScale: Float?) throws(TorchError) -> StepLosses {
        let graph = try StepGraph(model: model, maBeta: objective.maBeta)
        let terms = try loss(in: graph, input, objective)
        let result = try graph.finish(terms.total, ce: terms.ce, second: terms.second, lossScale: lossScale)
        return StepLosses(loss: result.loss, ceLoss: result.ce, conLoss: result.second, skipped: result.skipped)
    }
}

/// The terms of a method's loss.
public struct MethodLoss {
    /// What is backpropagated.
    public var total: StepGraph.Tensor
    /// The classification term.
    public var ce: StepGraph.Tensor
    /// The method's second term before its weight (contrastive or domain loss), if any.
    public var second: StepGraph.Tensor?

    public init(total: StepGraph.Tensor, ce: StepGraph.Tensor, second: StepGraph.Tensor? = nil) {
        self.total = total
        self.ce = ce
        self.second = second
    }
}

/// Where a step is in its run (the methods' generators and schedules read it).
public struct StepPosition: Sendable, Equatable {
    /// 1-based epoch and 0-based step within it.
    public var epoch: Int
    public var step: Int
    public var stepsPerEpoch: Int
    public var epochs: Int

    public init(epoch: Int, step: Int, stepsPerEpoch: Int, epochs: Int) {
        self.epoch = epoch
        self.step = step
        self.stepsPerEpoch = stepsPerEpoch
        self.epochs = epochs
    }
}

/// A step's random decisions, made in Swift (injectable: goldens replay the reference's).
public struct StepDraws: Sendable {
    /// Patch-Mix's permutation, mask and lambda.
    public var mix: PatchMixDecision?
    /// Augmented views of the batch [batch, frames, bins] that replace it (SG-SCL: two, DAT: one).
    public var views: [[Float]]?
    /// The gradient-reversal coefficient (DAT).
    public var reversal: Double?

    public init(mix: PatchMixDecision? = nil, views: [[Float]]? = nil, reversal: Double? = nil) {
        self.mix = mix
        self.views = views
        self.reversal = reversal
    }
}

/// One step's data: the batch, its labels, the cycles' groups when the method uses them, the draws.
public struct StepInput: Sendable {
    public var x: [Float]
    public var labels: [Int64]
    public var groups: [Int64]?
    public var draws: StepDraws
    public var count: Int { labels.count }

    public init(x: [Float], labels: [Int64], groups: [Int64]? = nil, draws: StepDraws = StepDraws()) {
        self.x = x
        self.labels = labels
        self.groups = groups
        self.draws = draws
    }
}

/// `--method`: a name in the registry. Codable as its name (checkpoints, result.json).
public struct TrainingMethod: RawRepresentable, Hashable, Codable, Sendable, CaseIterable, CustomStringConvertible {
    public let rawValue: String

    /// Every method, in the order of help texts and report rows. One entry per method file.
    static let registry: [any TrainingMethodDefinition] = [
        CrossEntropyMethod(),
        PatchMixMethod(),
        PatchMixContrastiveMethod(),
        StethoscopeGuidedMethod(),
        DomainAdversarialMethod(),
    ]

    public init?(rawValue: String) {
        guard Self.registry.contains(where: { $0.name == rawValue }) else { return nil }
        self.rawValue = rawValue
    }

    /// A method file's own name for itself.
    init(registered name: String) {
        precondition(Self.registry.contains { $0.name == name }, "method \(name) is not in TrainingMethod.registry")
        rawValue = name
    }

    public static var allCases: [TrainingMethod] { registry.map { TrainingMethod(registered: $0.name) } }

    public var definition: any TrainingMethodDefinition { Self.registry.first { $0.name == rawValue }! }

    public var description: String { rawValue }

    // Coded as the bare name, as the enum it replaced was (checkpoint meta, result.json).
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let name = try container.decode(String.self)
        guard let method = TrainingMethod(rawValue: name) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "unknown method '\(name)' (\(Self.names))")
        }
        self = method
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }

    /// "ce, patchmix, ..." for messages.
    public static var names: String { registry.map(\.name).joined(separator: ", ") }
    /// "ce (cross-entropy fine-tuning), ..." for help texts.
    public static var summaries: String { registry.map { "\($0.name) (\($0.summary))" }.joined(separator: ", ") }
}

/// Per-cycle metadata a method groups by (`--meta`), coded as the SG-SCL repository codes it:
/// dev (Meditron 0, LittC2SE 1, Litt3200 2, AKGC417L 3), age (adult >= 19 years 0, else 1),
/// sex (M 0, else 1), loc (the patient's chest location of metadata.txt: Tc 0, Al 1, Ar 2, Pl 3,
/// Pr 4, Ll 5, Lr 6), label (the 4-class label).
public enum CycleMetadata: String, Codable, Sendable, CaseIterable {
    case dev, age, sex, loc, label

    /// Number of groups (the domain head's classes).
    public var classes: Int {
        switch self {
        case .dev, .label: 4
        case .age, .sex: 2
        case .loc: 7
        }
    }
}

extension TorchError {
    /// A method's input is missing or malformed.
    static func argument(_ message: String) -> TorchError {
        TorchError(function: "trainStep", message: message, nonFiniteLoss: false)
    }
}
