import Foundation

/// One test split of a label task's run (`--task`): its name and rows.
public struct TaskTest {
    public let split: String
    public let source: any CycleSource

    public init(split: String, source: any CycleSource) {
        self.split = split
        self.source = source
    }
}

/// A label task's epochs: every test split evaluated on its own under the challenge's metric
/// (`TaskScore`), the best epoch chosen on `TaskSelection`'s splits.
extension Trainer {
    static func checkTask(_ task: TaskDefinition?, tests: [TaskTest], options: TrainingOptions) throws(TrainingError) {
        guard let task else {
            guard tests.isEmpty, options.task == nil else { throw .invalidOption("a --task run needs its task and test splits") }
            return
        }
        guard options.task == task.name, options.model.numClasses == task.classes.count else {
            throw .invalidOption("--task \(task.name) has \(task.classes.count) classes; the run's options say task \(options.task ?? "none"), \(options.model.numClasses) classes")
        }
        guard !tests.isEmpty else { throw .invalidOption("--task \(task.name): the feature set has no test split with rows of the task") }
        for test in tests { try checkShapes(options.model, test.source, test.split) }
    }

    /// Evaluates every test split (no augmentation).
    func evaluateTaskTests(_ task: TaskDefinition, classes: Int) throws(TrainingError) -> [SplitEvaluation] {
        try taskTests.map { test throws(TrainingError) in
            let evaluation = try evaluate(model: model, source: test.source, classes: classes, batchSize: options.evalBatchSize)
            return SplitEvaluation(split: test.split, confusion: evaluation.confusion.matrix, task: task)
        }
    }

    /// `epoch   2/5  lr ...  loss ...  inter_test SE .. SP .. AS .. HS .. Score ..  |  intra_test ...  |  Score 61.20 *best*`
    func taskEpochLine(_ record: EpochRecord) -> String {
        let splits = (record.tests ?? []).map {
            String(format: "%@ SE %.2f SP %.2f AS %.2f HS %.2f Score %.2f", $0.split, $0.sensitivity, $0.specificity,
                   $0.averageScore, $0.harmonicScore, $0.score)
        }
        return String(format: "epoch %3d/%d  lr %.2e  loss %.4f  ", record.epoch, options.epochs, record.learningRate, record.trainLoss)
            + splits.joined(separator: "  |  ")
            + String(format: "  |  selection Score %.2f%@  %.1fs train, %.1fs eval, data wait %.1f%%", record.score,
                     record.best ? "  *best*" : "", record.trainSeconds, record.evalSeconds, record.dataWaitFraction * 100)
    }

    /// The best epoch's splits and the last epoch's confusion matrices, one per test split.
    func reportTaskSummary(_ task: TaskDefinition) {
        if let e = best.epoch, let record = history.first(where: { $0.epoch == e }) {
            report(String(format: "best epoch %d (task %@, mean Score of %@): Score %.2f", e, task.name,
                          TaskSelection.selectionSplits((record.tests ?? []).map(\.split)).joined(separator: " and "), record.score))
            for t in record.tests ?? [] {
                report(String(format: "  %@: SE %.2f  SP %.2f  AS %.2f  HS %.2f  Score %.2f (%d rows)", t.split, t.sensitivity,
                              t.specificity, t.averageScore, t.harmonicScore, t.score, t.rows))
            }
        }
        for t in history.last?.tests ?? [] {
            report("confusion matrix of the last epoch on \(t.split) (rows: true, columns: predicted):\n"
                   + formatConfusion(t.confusion, names: task.classes))
        }
    }
}

extension TrainingSession {
    /// `--eval` of a label task's checkpoint: every test split of `shards` with rows of the task,
    /// each under the challenge's metric, and the selection mean.
    static func evaluateTask(_ task: String, meta: CheckpointMeta, file: LoadedCheckpoint, checkpoint: String, shards: String,
                             device: String, report: @escaping (String) -> Void) throws(TrainingError) -> Evaluation {
        let m = meta.options.model
        let tests = try taskTests(shards: shards, task: task, report: report)
        let first = tests[0].cycles
        guard let definition = first.task, definition.classes.count == m.numClasses else {
            throw .checkpoint(path: checkpoint, message: "is a --task \(task) model with \(m.numClasses) classes; \(shards)'s task \(task) has \(first.task?.classes.count ?? 0)")
        }
        try checkShards(first, match: meta, checkpoint: checkpoint, shards: shards)
        let model = try evaluationModel(m, from: file, checkpoint: checkpoint, device: device, report: report)
        report("\(checkpoint) (epoch \(meta.epoch)), task \(task), on \(first.index.featureSet):")
        var result: Evaluation?
        var splits: [SplitEvaluation] = [], logits: [[Float]] = []
        for test in tests {
            let evaluation = try Training.evaluate(model: model, source: test.cycles, classes: m.numClasses, batchSize: meta.options.evalBatchSize)
            let e = SplitEvaluation(split: test.split, confusion: evaluation.confusion.matrix, task: definition)
            splits.append(e)
            logits.append(evaluation.logits)
            result = result ?? evaluation
            report(String(format: "%@ (%d rows): SE %.2f  SP %.2f  AS %.2f  HS %.2f  Score %.2f", e.split, e.rows, e.sensitivity,
                          e.specificity, e.averageScore, e.harmonicScore, e.score))
            report("confusion matrix (rows: true, columns: predicted):\n" + formatConfusion(e.confusion, names: definition.classes))
        }
        report(String(format: "selection (%@): Score %.2f", TaskSelection.selectionSplits(splits.map(\.split)).joined(separator: ", "),
                      TaskSelection.mean(splits, \.score)))
        var evaluation = result!
        evaluation.task = task
        evaluation.tests = splits
        evaluation.testLogits = logits
        return evaluation
    }
}
