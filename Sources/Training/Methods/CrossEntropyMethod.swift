/// `ce`: fine-tuning with cross-entropy (the Patch-Mix paper's baseline).
struct CrossEntropyMethod: TrainingMethodDefinition {
    let name = "ce"
    let summary = "cross-entropy fine-tuning"

    func loss(in graph: StepGraph, _ input: StepInput, _ objective: StepObjective) throws(TorchError) -> MethodLoss {
        let x = try graph.input(input.x, batch: input.count)
        let labels = try graph.labels(input.labels)
        let ce = try graph.crossEntropy(graph.classify(graph.encode(x)), labels, weight: graph.classWeights(objective))
        return MethodLoss(total: ce, ce: ce)
    }

    func published(_ result: RunResult) -> PaperFigures? {
        result.isConfiguredAsPublished
            ? PaperFigures(name: "AST fine-tuning", specificity: 77.14, sensitivity: 41.97, score: 59.55) : nil
    }
}

extension TrainingMethod {
    public static let ce = TrainingMethod(registered: "ce")
}

extension StepGraph {
    /// The step's labels, checked against the model's classes.
    func labels(_ labels: [Int64]) throws(TorchError) -> Tensor {
        try int64s(labels, upper: model.config.numClasses, what: "label")
    }

    /// `--class-weighted-loss`'s weights, when set.
    func classWeights(_ objective: StepObjective) throws(TorchError) -> Tensor? {
        try objective.classWeights.map { w throws(TorchError) in try floats(w) }
    }
}
