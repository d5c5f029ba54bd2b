/// `patchmix`: Patch-Mix with mixup cross-entropy (Bae et al. 2023, REFERENCE.md "Patch-Mix").
struct PatchMixMethod: PatchMixing {
    let name = "patchmix"
    let summary = "Patch-Mix with mixup cross-entropy"

    func loss(in graph: StepGraph, _ input: StepInput, _ objective: StepObjective) throws(TorchError) -> MethodLoss {
        let batch = try PatchMixBatch(graph, input)
        let weight = try graph.classWeights(objective)
        let logits = try graph.classify(graph.encode(batch.x, mix: (batch.mix.index, batch.mix.mask)))
        // lam * CE(y) + (1 - lam) * CE(y[index]), (1 - lam) in Float as the fixed step computed it.
        let lam = batch.mix.lam
        let ce = try graph.weightedSum(graph.crossEntropy(logits, batch.labels, weight: weight), Double(lam),
                                       graph.crossEntropy(logits, graph.indexSelect(batch.labels, batch.mix.index), weight: weight),
                                       Double(1 - lam))
        return MethodLoss(total: ce, ce: ce)
    }
}

extension TrainingMethod {
    public static let patchmix = TrainingMethod(registered: "patchmix")
}
