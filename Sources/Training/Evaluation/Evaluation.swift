import Foundation

/// Result of evaluating a model on a split.
public struct Evaluation: Sendable {
    public var confusion: ConfusionMatrix
    public var predictions: [Int]
    /// The model's logits, `classes` per cycle in source order (`train --eval --predictions`).
    public var logits: [Float] = []
    /// `--eval` of a label task's checkpoint: the task, and every test split's evaluation (this
    /// value's confusion and logits are then the first split's).
    public var task: String? = nil
    public var tests: [SplitEvaluation] = []
    /// The logits of each of `tests`, in the same order (`--predictions` of a task checkpoint).
    public var testLogits: [[Float]] = []
    public var score: ICBHIScore { confusion.score }
    public var twoClass: ICBHIScore { confusion.twoClassScore }
}

/// Evaluates `model` on every cycle of `source` (no augmentation): argmax predictions.
public func evaluate(model: ASTModel, source: any CycleSource, classes: Int,
                     batchSize: Int = 32) throws(TrainingError) -> Evaluation {
    let labels = source.labels(classes: classes)
    let batches = stride(from: 0, to: source.count, by: batchSize).map {
        Array($0..<min($0 + batchSize, source.count))
    }
    let loader = BatchLoader(source: source, batches: batches, labels: labels, augment: nil, seed: 0, epoch: 0)
    defer { loader.cancel() }
    var confusion = ConfusionMatrix(classes: classes)
    var predictions: [Int] = []
    var allLogits: [Float] = []
    while true {
        let batch: Batch?
        do { batch = try loader.next() } catch {
            throw .shards(path: "(evaluation data)", message: "reading a batch failed: \(error)")
        }
        guard let batch else { break }
        let logits: [Float]
        do { logits = try model.logits(x: batch.x, batch: batch.count) } catch { throw .torch(error) }
        allLogits += logits
        for k in 0..<batch.count {
            let row = logits[(k * classes)..<((k + 1) * classes)]
            let p = row.indices.max { row[$0] < row[$1] }! - k * classes
            predictions.append(p)
            confusion.add(label: Int(batch.labels[k]), prediction: p)
        }
    }
    return Evaluation(confusion: confusion, predictions: predictions, logits: allLogits)
}

/// The confusion matrix as an aligned text table; `names` (a task's classes) label its rows and
/// columns, else ICBHI's names for 4 or 2 classes.
public func formatConfusion(_ m: [[Int]], names given: [String]? = nil) -> String {
    let names = given.flatMap { $0.count == m.count ? $0 : nil }
        ?? (m.count == 4 ? ["normal", "crackle", "wheeze", "both"] : (m.count == 2 ? ["normal", "abnormal"] : m.indices.map { "c\($0)" }))
    // Given names set the width too (ICBHI's fit in 9, as before).
    let width = max(9, (m.joined().map { String($0).count }.max() ?? 1) + 2, given == nil ? 0 : (names.map(\.count).max() ?? 0) + 2)
    func pad(_ s: String) -> String { String(repeating: " ", count: max(0, width - s.count)) + s }
    var lines = [pad("") + names.map(pad).joined()]
    for (i, row) in m.enumerated() { lines.append(pad(names[i]) + row.map { pad(String($0)) }.joined()) }
    return lines.joined(separator: "\n")
}
