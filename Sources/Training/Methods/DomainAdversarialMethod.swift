import Foundation

/// `dat`: domain-adversarial training on the stethoscope (the SG-SCL repository's
/// `--domain_adaptation`, `scripts/icbhi_dat_device.sh`): a domain head (LayerNorm, Linear to the
/// `--meta` groups) behind a gradient-reversal layer; loss = CE(class) + alpha CE(domain). The
/// reversal coefficient is 2 / (1 + exp(-10 p)) - 1 with p = (step + epoch * steps) / epochs +
/// 1 / steps (0-based step, 1-based epoch, steps per epoch), as that main.py computes it. The batch
/// gets one whole-batch SpecAugment.
struct DomainAdversarialMethod: TrainingMethodDefinition {
    let name = "dat"
    let summary = "domain-adversarial training on the stethoscope (DAT)"
    let augmentsEachCycle = false

    func groups(_ options: TrainingOptions) -> CycleMetadata? { options.meta ?? .dev }

    func model(_ options: TrainingOptions) -> ModelConfig {
        var model = options.model
        model.domainClasses = (options.meta ?? .dev).classes
        return model
    }

    func draws(x: [Float], batch: Int, model: ASTModel, options: TrainingOptions, at position: StepPosition) -> StepDraws {
        StepDraws(views: BatchSpecAugment.views(of: x, batch: batch, count: 1, options: options, at: position,
                                                frames: model.config.inputFrames, bins: model.config.inputBins),
                  reversal: Self.reversalCoefficient(at: position))
    }

    static func reversalCoefficient(at position: StepPosition) -> Double {
        let n = Double(position.stepsPerEpoch)
        let p = (Double(position.step) + Double(position.epoch) * n) / Double(position.epochs) + 1 / n
        return 2 / (1 + exp(-10 * p)) - 1
    }

    func loss(in graph: StepGraph, _ input: StepInput, _ objective: StepObjective) throws(TorchError) -> MethodLoss {
        guard let groups = input.groups else { throw .argument("dat needs the cycles' groups (--meta)") }
        guard let coefficient = input.draws.reversal else { throw .argument("dat needs its gradient-reversal coefficient") }
        let view = input.draws.views?.first ?? input.x
        let labels = try graph.labels(input.labels)
        let features = try graph.encode(graph.input(view, batch: input.count))
        let ce = try graph.crossEntropy(graph.classify(features), labels, weight: graph.classWeights(objective))
        let domains = try graph.int64s(groups, upper: graph.model.config.domainClasses ?? 0, what: "domain group")
        let domainLoss = try graph.crossEntropy(graph.domainClassify(graph.gradientReversal(features, coefficient: coefficient)), domains)
        return MethodLoss(total: try graph.weightedSum(ce, 1, domainLoss, Double(objective.alpha)), ce: ce, second: domainLoss)
    }

    func published(_ result: RunResult) -> PaperFigures? {
        guard result.isConfiguredAsPublished, (result.options.meta ?? .dev) == .dev else { return nil }
        return PaperFigures(name: "DAT", specificity: 77.11, sensitivity: 42.50, score: 59.81)
    }
}

extension TrainingMethod {
    public static let dat = TrainingMethod(registered: "dat")
}
