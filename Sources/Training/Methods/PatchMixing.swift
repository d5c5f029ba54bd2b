/// What the Patch-Mix methods (`patchmix`, `patchmix_cl`) share: each step draws one Patch-Mix
/// decision, and the loss starts from the batch, its labels and that decision as tensors
/// (`PatchMixBatch`). A method conforming to it writes only its loss.
protocol PatchMixing: TrainingMethodDefinition {}

extension PatchMixing {
    func draws(x: [Float], batch: Int, model: ASTModel, options: TrainingOptions, at position: StepPosition) -> StepDraws {
        StepDraws(mix: PatchMixPolicy.decide(options: options, batch: batch, model: model, at: position))
    }
}

/// A Patch-Mix step's inputs in its graph: the batch, its labels and the mix decision.
struct PatchMixBatch {
    let x: StepGraph.Tensor
    let labels: StepGraph.Tensor
    let mix: MixTensors

    init(_ graph: StepGraph, _ input: StepInput) throws(TorchError) {
        mix = try MixTensors(graph, input)
        x = try graph.input(input.x, batch: input.count)
        labels = try graph.labels(input.labels)
    }
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
