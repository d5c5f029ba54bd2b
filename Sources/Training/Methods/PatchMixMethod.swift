/// `patchmix`: Patch-Mix with mixup cross-entropy (Bae et al. 2023, REFERENCE.md "Patch-Mix").
struct PatchMixMethod: TrainingMethodDefinition {
    let name = "patchmix"
    let summary = "Patch-Mix with mixup cross-entropy"

    func draws(x: [Float], batch: Int, model: ASTModel, options: TrainingOptions, at position: StepPosition) -> StepDraws {
        StepDraws(mix: PatchMixPolicy.decide(options: options, batch: batch, model: model, at: position))
    }

    func loss(in graph: StepGraph, _ input: StepInput, _ objective: StepObjective) throws(TorchError) -> MethodLoss {
        let mix = try MixTensors(graph, input)
        let x = try graph.input(input.x, batch: input.count)
        let labels = try graph.labels(input.labels)
        let weight = try graph.classWeights(objective)
        let logits = try graph.classify(graph.encode(x, mix: (mix.index, mix.mask)))
        // lam * CE(y) + (1 - lam) * CE(y[index]), (1 - lam) in Float as the fixed step computed it.
        let ce = try graph.weightedSum(graph.crossEntropy(logits, labels, weight: weight), Double(mix.lam),
                                       graph.crossEntropy(logits, graph.indexSelect(labels, mix.index), weight: weight),
                                       Double(1 - mix.lam))
        return MethodLoss(total: ce, ce: ce)
    }
}

extension TrainingMethod {
    public static let patchmix = TrainingMethod(registered: "patchmix")
}

/// A step's Patch-Mix decision as tensors of its graph.
struct MixTensors {
    let index: StepGraph.Tensor
    let mask: StepGraph.Tensor
    let lam: Float

    init(_ graph: StepGraph, _ input: StepInput) throws(TorchError) {
        guard let mix = input.draws.mix else {
            throw TorchError(function: "trainStep", message: "Patch-Mix methods need a mix decision", nonFiniteLoss: false)
        }
        index = try graph.int64s(mix.index, upper: input.count, what: "mix index")
        mask = try graph.int64s(mix.mask, upper: graph.model.numPatches, what: "mix mask")
        lam = mix.lam
    }
}

extension PatchMixPolicy {
    /// The decision the trainer draws for a step: its own generator (seed, patchMix, epoch, step).
    static func decide(options: TrainingOptions, batch: Int, model: ASTModel, at position: StepPosition) -> PatchMixDecision {
        var rng = TrainingRNG(seed: options.seed, .patchMix, position.epoch, position.step)
        return decide(batch: batch, patches: model.numPatches, mixBeta: options.mixBeta, using: &rng)
    }
}
