import FeatureStore
import Foundation

/// The `train` command's two jobs, on feature shards written by `prep features`.
public enum TrainingSession {
    /// Trains (or, with `resume`, continues the run in `options.outputDirectory` with the
    /// options stored in its last checkpoint) on `<shards>` train split, evaluating on test.
    @discardableResult
    public static func train(shards: String, options requested: TrainingOptions, resume: Bool,
                             trainSplit: String = "train", testSplit: String = "test",
                             report: @escaping (String) -> Void = writeLine) throws(TrainingError) -> [EpochRecord] {
        var options = requested
        let last = (options.outputDirectory as NSString).appendingPathComponent("last.pth")
        if resume {
            let meta = try CheckpointMeta.read(path: last)
            options = meta.options
            options.device = requested.device
        }
        try FileManager.default.createDirectoryOrThrow(options.outputDirectory)
        // One process per run directory: a second one (a rerun of a sweep while an orphaned run
        // goes on, two array tasks with one index) refuses instead of interleaving checkpoints.
        let runLock: CacheLock
        do {
            runLock = try CacheLock(path: (options.outputDirectory as NSString).appendingPathComponent(".lock"), purpose: "train")
        } catch { throw .invalidOption("\(options.outputDirectory): another train process is working on this run (\(error))") }
        defer { withExtendedLifetime(runLock) {} }
        let train: ShardCycles, test: ShardCycles
        if let fold = options.testFold {
            train = try ShardCycles(directory: shards, selection: FoldSelection.trainRows(testFold: fold))
            test = try ShardCycles(directory: shards, selection: FoldSelection.testRows(testFold: fold))
            try FoldSelection.checkPatientDisjoint(train: train, test: test)
        } else {
            train = try ShardCycles(directory: shards, split: trainSplit)
            test = try ShardCycles(directory: shards, split: testSplit)
        }
        if let id = options.featureSetID, resume, id != train.index.id {
            throw .checkpoint(path: last, message: "was trained on feature set \(options.featureSet ?? "?") (\(id)), \(shards) holds \(train.index.featureSet) (\(train.index.id))")
        }
        options.model.inputFrames = train.frames
        options.model.inputBins = train.bins
        options.featureSet = train.index.featureSet
        options.featureSetID = train.index.id
        let trainer = try Trainer(options: options, train: train, test: test)
        trainer.report = report
        report("\(options.preset): \(trainer.model.parameterCount) parameters, \(trainer.model.fDim)x\(trainer.model.tDim) patches, device \(options.device), libtorch \(Torch.version), \(Torch.threadSummary)")
        report("feature set \(train.index.featureSet) (\(train.index.id)): \(train.count) train (\(train.selection)) / \(test.count) test (\(test.selection)) cycles, \(train.frames) x \(train.bins)")
        if resume {
            try trainer.resume(from: last)
        } else if let path = options.initCheckpoint {
            report("init: " + (try trainer.loadInitialWeights(path)))
        } else if options.preset == ModelPreset.astBase.name {
            report("note: ast-base without --init trains from scratch; the paper fine-tunes the AudioSet AST (--init audioset_10_10_0.4593.pth)")
        }
        return try trainer.run()
    }

    /// Re-evaluates a checkpoint on a split of `<shards>`; reports Sp/Se/score, the 2-class view
    /// and the confusion matrix.
    @discardableResult
    public static func evaluate(checkpoint: String, shards: String, split: String = "test", device: String = "cpu",
                                report: @escaping (String) -> Void = writeLine) throws(TrainingError) -> Evaluation {
        let meta = try CheckpointMeta.read(path: checkpoint)
        let data = try ShardCycles(directory: shards, split: split)
        let m = meta.options.model
        guard data.frames == m.inputFrames && data.bins == m.inputBins else {
            throw .inputShape("\(shards) holds \(data.frames) x \(data.bins) spectrograms, the checkpoint's model expects \(m.inputFrames) x \(m.inputBins)")
        }
        if let id = meta.options.featureSetID, id != data.index.id {
            throw .checkpoint(path: checkpoint, message: "was trained on feature set \(meta.options.featureSet ?? "?") (\(id)), \(shards) holds \(data.index.featureSet) (\(data.index.id))")
        }
        let model: ASTModel
        do {
            model = try ASTModel(config: m, device: device)
            try model.loadCheckpoint(path: checkpoint, withOptimizer: false)
        } catch { throw .torch(error) }
        let result = try Training.evaluate(model: model, source: data, classes: m.numClasses, batchSize: meta.options.evalBatchSize)
        let s = result.score, s2 = result.twoClass
        report("\(checkpoint) (epoch \(meta.epoch)) on \(data.count) \(split) cycles of \(data.index.featureSet):")
        report(String(format: "Sp %.2f  Se %.2f  Score %.2f", s.specificity, s.sensitivity, s.score))
        report(String(format: "2-class: Sp %.2f  Se %.2f  Score %.2f", s2.specificity, s2.sensitivity, s2.score))
        report("confusion matrix (rows: true, columns: predicted):\n" + formatConfusion(result.confusion.matrix))
        return result
    }
}

/// Writes one line to standard output unbuffered (progress shows up at once in logs and pipes).
public func writeLine(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

extension FileManager {
    func createDirectoryOrThrow(_ path: String) throws(TrainingError) {
        do { try createDirectory(atPath: path, withIntermediateDirectories: true) } catch {
            throw .invalidOption("cannot create \(path): \(error)")
        }
    }
}
