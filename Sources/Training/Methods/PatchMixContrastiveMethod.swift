/// `patchmix_cl`: cross-entropy on the clean batch plus alpha times the Patch-Mix contrastive loss
/// of the projected mixed batch against the detached clean features (Bae et al. 2023, target
/// `grad_block`; REFERENCE.md "Patch-Mix and its contrastive loss").
struct PatchMixContrastiveMethod: PatchMixing {
    let name = "patchmix_cl"
    let summary = "Patch-Mix contrastive learning (the paper's method)"

    func validate(_ options: TrainingOptions) throws(TrainingError) {
        // The loss compares projections with the D-wide features themselves.
        guard options.model.projDim == options.model.embedDim else {
            throw .invalidOption("projector width \(options.model.projDim) must equal the model width \(options.model.embedDim)")
        }
    }

    func loss(in graph: StepGraph, _ input: StepInput, _ objective: StepObjective) throws(TorchError) -> MethodLoss {
        let batch = try PatchMixBatch(graph, input)
        let features = try graph.encode(batch.x)
        let ce = try graph.crossEntropy(graph.classify(features), batch.labels, weight: graph.classWeights(objective))
        let projected = try graph.project(graph.encode(batch.x, mix: (batch.mix.index, batch.mix.mask)))
        let con = try graph.patchMixContrastive(clean: graph.detach(features), mixed: projected, labels: batch.labels,
                                                index: batch.mix.index, lam: batch.mix.lam, temperature: objective.temperature,
                                                negativePair: objective.negativePair)
        return MethodLoss(total: try graph.weightedSum(ce, 1, con, Double(objective.alpha)), ce: ce, second: con)
    }

    func published(_ result: RunResult) -> PaperFigures? {
        result.isConfiguredAsPublished
            ? PaperFigures(name: "Patch-Mix CL", specificity: 81.66, sensitivity: 43.07, score: 62.37) : nil
    }
}

extension TrainingMethod {
    public static let patchmix_cl = TrainingMethod(registered: "patchmix_cl")
}
