import Durability
import FeatureStore
import Foundation

/// The `train` command's two jobs, on feature shards written by `prep features`.
public enum TrainingSession {
    /// Trains (or, with `resume`, continues the run in `options.outputDirectory` with the
    /// options stored in its last checkpoint) on `<shards>` train split, evaluating on test.
    /// It writes only into `options.outputDirectory`, never where a checkpoint's meta says the run
    /// was. On resume, the options in `stated` (those the command line gave; a sweep's run states
    /// them all) must equal the checkpoint's, or the run is refused naming both values; device
    /// and mixed precision may change and are reported. `whenLocked` runs once the run directory
    /// is this process's (a sweep's child moves its output into the run's `train.log` there).
    /// A start that fails leaves no directory it created holding only the lock file.
    /// With `options.initCheckpoint` the model's shape comes from that file (heads: `heads`, else
    /// the preset's when `presetGiven`, else D / 64); a given preset of another shape is an error.
    /// The projector is `projDim` wide (`--proj-dim`) whatever the file holds (a projector of
    /// another width in the file is then left out); without it, as wide as the file's.
    @discardableResult
    public static func train(shards: String, options requested: TrainingOptions, resume: Bool,
                             stated: Set<String> = [],
                             trainSplit: String = "train", testSplit: String = "test",
                             presetGiven: Bool = true, heads: Int? = nil, projDim: Int? = nil,
                             whenLocked: (String) throws(TrainingError) -> Void = { _ in },
                             report: @escaping (String) -> Void = writeLine) throws(TrainingError) -> [EpochRecord] {
        try start(shards: shards, options: requested, resume: resume, stated: stated, trainSplit: trainSplit, testSplit: testSplit,
                  presetGiven: presetGiven, heads: heads, projDim: projDim, whenLocked: { _ throws(TrainingError) in try whenLocked(requested.outputDirectory) },
                  report: report)
    }

    /// Run `options.outputDirectory` of a sweep (`--sweep-index`) as it stands once this process
    /// holds its lock: finished (nothing to do), interrupted (resumed; the sweep's command line
    /// states every option, so a checkpoint of another run is refused) or not started. Read under
    /// the lock: another copy of the sweep may have finished the run since this one looked.
    /// `whenLocked` gets the state first.
    @discardableResult
    public static func trainSweepRun(shards: String, options: TrainingOptions, presetGiven: Bool, heads: Int?, projDim: Int? = nil,
                                     whenLocked: (RunState) throws(TrainingError) -> Void,
                                     report: @escaping (String) -> Void = writeLine) throws(TrainingError) -> [EpochRecord] {
        try start(shards: shards, options: options, resume: nil, stated: ResumeCheck.allOptions, trainSplit: "train", testSplit: "test",
                  presetGiven: presetGiven, heads: heads, projDim: projDim, whenLocked: whenLocked, report: report)
    }

    /// `resume` nil: as the run directory stands under the lock.
    private static func start(shards: String, options requested: TrainingOptions, resume: Bool?, stated: Set<String>,
                              trainSplit: String, testSplit: String, presetGiven: Bool, heads: Int?, projDim: Int?,
                              whenLocked: (RunState) throws(TrainingError) -> Void,
                              report: @escaping (String) -> Void) throws(TrainingError) -> [EpochRecord] {
        let directory = requested.outputDirectory
        let last = (directory as NSString).appendingPathComponent("last.pth")
        // Nothing to resume: said before anything is created.
        if resume == true && !FileManager.default.fileExists(atPath: last) {
            throw .checkpoint(path: last, message: "no such checkpoint: nothing to resume in \(directory)")
        }
        // One process per run directory: a second one (a rerun of a sweep while an orphaned run
        // goes on, two array tasks with one index) refuses instead of interleaving checkpoints.
        let run = try RunDirectory(directory)
        defer { withExtendedLifetime(run) {} }
        do throws(TrainingError) {
            let state = RunState(directory: directory)
            try whenLocked(state)
            if resume == nil && state == .finished {
                report("\(directory): finished (\(RunResult.fileName) exists), nothing to do")
                return []
            }
            return try train(shards: shards, requested: requested, resume: resume ?? (state == .interrupted), stated: stated, last: last,
                             trainSplit: trainSplit, testSplit: testSplit, presetGiven: presetGiven, heads: heads, projDim: projDim,
                             report: report)
        } catch {
            run.discardIfUnused()
            throw error
        }
    }

    /// `train` under the run directory's lock.
    private static func train(shards: String, requested: TrainingOptions, resume: Bool, stated: Set<String>, last: String,
                              trainSplit: String, testSplit: String, presetGiven: Bool, heads: Int?, projDim: Int?,
                              report: @escaping (String) -> Void) throws(TrainingError) -> [EpochRecord] {
        var options = requested
        if resume {
            // Read under the lock: the checkpoint is the one this process continues from.
            let meta = try CheckpointMeta.read(path: last)
            try ResumeCheck.check(stored: meta.options, requested: requested, stated: stated, path: last)
            if let heads, heads != meta.options.model.heads {
                throw .checkpoint(path: last, message: "is a run with \(meta.options.model.heads) heads; this command asks for --heads \(heads). "
                                  + "--resume continues a run with its own options: leave --heads out, or start a new run in another --output")
            }
            ResumeCheck.notes(stored: meta.options, requested: requested, epoch: meta.epoch).forEach(report)
            options = meta.options
            options.outputDirectory = requested.outputDirectory // where the run is now, whatever the file says
            options.device = requested.device
            options.amp = requested.amp // like the device, an execution setting of this invocation
        }
        // Under the lock no other process writes here: temp files are leftovers of a killed run
        // (AtomicFile's `.<name>.partial-<pid>`, and `<name>.tmp` of trainers before it).
        AtomicFile.sweepPartials(in: options.outputDirectory)
        for name in ["last.pth.tmp", "best.pth.tmp"] {
            try? FileManager.default.removeItem(atPath: (options.outputDirectory as NSString).appendingPathComponent(name))
        }
        let train: ShardCycles, test: ShardCycles
        var taskTests: [TaskTest] = []
        if let task = options.task {
            train = try ShardCycles(directory: shards, split: trainSplit, task: task)
            let tests = try Self.taskTests(shards: shards, task: task, report: report)
            taskTests = tests.map { TaskTest(split: $0.split, source: $0.cycles) }
            test = tests[0].cycles
            options.model.numClasses = train.task!.classes.count
        } else if let fold = options.testFold {
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
        options.features = FeatureProvenance(index: train.index)
        if !resume, let path = options.initCheckpoint {
            let file = try LoadedCheckpoint(path: path)
            let architecture = try file.architecture()
            var config: ModelConfig
            if file.meta != nil {
                // This trainer's checkpoints state their whole shape (strides, heads): nothing to infer.
                config = try CheckpointMeta.read(file).options.model
                config.inputFrames = train.frames
                config.inputBins = train.bins
                config.numClasses = options.model.numClasses
                config.heads = heads ?? config.heads
            } else {
                config = try architecture.modelConfig(frames: train.frames, bins: train.bins,
                                                      heads: heads ?? (presetGiven ? options.model.heads : nil),
                                                      numClasses: options.model.numClasses)
            }
            guard config.embedDim % config.heads == 0 else {
                throw .invalidOption("--heads \(config.heads) does not divide the checkpoint's embedding dim \(config.embedDim)")
            }
            // The file's shape is the AST's; the projector's width is the command's when it states one.
            if let projDim { config.projDim = projDim }
            if presetGiven, let preset = ModelPreset.named(options.preset) {
                try architecture.check(preset: preset, against: config)
            }
            options.model = config
        }
        let trainer = try Trainer(options: options, train: train, test: test, task: train.task, taskTests: taskTests)
        trainer.report = report
        report("\(options.preset): \(trainer.model.parameterCount) parameters, \(trainer.model.fDim)x\(trainer.model.tDim) patches, device \(options.device) (\(trainer.computeType)), libtorch \(Torch.version), \(Torch.threadSummary)")
        if let task = train.task {
            let tests = taskTests.map { "\($0.split) \($0.source.count)" }.joined(separator: ", ")
            report("feature set \(train.index.featureSet) (\(train.index.id)), task \(task.name) (\(task.level) level: \(task.classes.joined(separator: ", "))): \(train.count) train rows; test rows \(tests); \(train.frames) x \(train.bins)")
        } else {
            report("feature set \(train.index.featureSet) (\(train.index.id)): \(train.count) train (\(train.selection)) / \(test.count) test (\(test.selection)) cycles, \(train.frames) x \(train.bins)")
        }
        if resume {
            try trainer.resume(from: last)
        } else if let path = options.initCheckpoint {
            report("model from \(path): D \(options.model.embedDim), \(options.model.depth) blocks, \(options.model.heads) heads, strides \(options.model.fstride)/\(options.model.tstride)")
            report("init: " + (try trainer.loadInitialWeights(path)))
        } else if options.preset == ModelPreset.astBase.name {
            report("note: ast-base without --init trains from scratch; the paper fine-tunes the AudioSet AST (--init audioset_10_10_0.4593.pth)")
        }
        return try trainer.run()
    }

    /// A task's test splits of `<shards>` (`TaskSelection.testSplits`) with rows of the task; a
    /// split without any is said and left out. Throws when none is left.
    static func taskTests(shards: String, task: String,
                          report: (String) -> Void) throws(TrainingError) -> [(split: String, cycles: ShardCycles)] {
        let splits: [String]
        do { splits = try FeatureSet(directory: shards).splits } catch let error as StoreError {
            throw .shards(path: error.path, message: error.reason)
        } catch { throw .shards(path: shards, message: "\(error)") }
        var tests: [(split: String, cycles: ShardCycles)] = []
        for split in TaskSelection.testSplits(splits) {
            do throws(TrainingError) {
                tests.append((split, try ShardCycles(directory: shards, split: split, task: task)))
            } catch .emptySplit {
                report("\(split): no rows of task \(task), not a test of this run")
            }
        }
        guard !tests.isEmpty else {
            throw .invalidOption("--task \(task): \(shards) has no test split with rows of the task (its splits: \(splits.joined(separator: ", ")); train and unassigned are not tests)")
        }
        return tests
    }

    /// Re-evaluates a checkpoint on a split of `<shards>`; reports Sp/Se/score, the 2-class view
    /// and the confusion matrix. Checkpoints of this trainer carry their model's shape; for one
    /// written by the paper code (or any file with `model` v.* and `classifier` tensors) the
    /// shape comes from the tensors, with `heads` heads (default D / 64).
    @discardableResult
    public static func evaluate(checkpoint: String, shards: String, split: String = "test", device: String = "cpu",
                                heads: Int? = nil,
                                report: @escaping (String) -> Void = writeLine) throws(TrainingError) -> Evaluation {
        guard FileManager.default.fileExists(atPath: checkpoint) else {
            throw .checkpoint(path: checkpoint, message: "no such checkpoint")
        }
        let file = try LoadedCheckpoint(path: checkpoint)
        let meta = try file.meta != nil ? CheckpointMeta.read(file) : nil
        if let meta, let task = meta.options.task {
            return try evaluateTask(task, meta: meta, file: file, checkpoint: checkpoint, shards: shards, device: device, report: report)
        }
        let data = try ShardCycles(directory: shards, split: split)
        let m: ModelConfig
        var evalBatchSize = 32, epoch = file.epoch
        if let meta {
            m = meta.options.model
            evalBatchSize = meta.options.evalBatchSize
            epoch = meta.epoch
            try checkShards(data, match: meta, checkpoint: checkpoint, shards: shards)
        } else {
            let architecture = try file.architecture()
            guard let classes = architecture.numClasses else {
                throw .checkpoint(path: checkpoint, message: "has no classifier (classifier.0/1 tensors): nothing to evaluate with")
            }
            m = try architecture.modelConfig(frames: data.frames, bins: data.bins, heads: heads, numClasses: classes)
            report("\(file.layout.rawValue): D \(m.embedDim), \(m.depth) blocks, \(m.heads) heads, strides \(m.fstride)/\(m.tstride), \(classes) classes")
        }
        let model = try evaluationModel(m, from: file, checkpoint: checkpoint, device: device, report: report)
        let result = try Training.evaluate(model: model, source: data, classes: m.numClasses, batchSize: evalBatchSize)
        let s = result.score, s2 = result.twoClass
        report("\(checkpoint) (epoch \(epoch.map(String.init) ?? "?")) on \(data.count) \(split) cycles of \(data.index.featureSet):")
        report(String(format: "Sp %.2f  Se %.2f  Score %.2f", s.specificity, s.sensitivity, s.score))
        report(String(format: "2-class: Sp %.2f  Se %.2f  Score %.2f", s2.specificity, s2.sensitivity, s2.score))
        report("confusion matrix (rows: true, columns: predicted):\n" + formatConfusion(result.confusion.matrix))
        return result
    }

    /// `--eval`'s checks that `data` is what the checkpoint of `meta` was trained on: its input
    /// shape, then its feature set.
    static func checkShards(_ data: ShardCycles, match meta: CheckpointMeta, checkpoint: String, shards: String) throws(TrainingError) {
        let m = meta.options.model
        guard data.frames == m.inputFrames && data.bins == m.inputBins else {
            throw .inputShape("\(shards) holds \(data.frames) x \(data.bins) spectrograms, the checkpoint's model expects \(m.inputFrames) x \(m.inputBins)")
        }
        if let id = meta.options.featureSetID, id != data.index.id {
            throw .checkpoint(path: checkpoint, message: "was trained on feature set \(meta.options.featureSet ?? "?") (\(id)), \(shards) holds \(data.index.featureSet) (\(data.index.id))")
        }
    }

    /// `--eval`'s model: built from `m` and loaded from `file` as an evaluation, reporting what
    /// the load skipped.
    static func evaluationModel(_ m: ModelConfig, from file: LoadedCheckpoint, checkpoint: String, device: String,
                                report: (String) -> Void) throws(TrainingError) -> ASTModel {
        let model: ASTModel
        do { model = try ASTModel(config: m, device: device) } catch { throw .torch(error) }
        if let skipped = try file.load(into: model, policy: .evaluate).skippedSummary { report("\(checkpoint): \(skipped)") }
        return model
    }
}

extension TrainingSession {
    /// `--inspect-checkpoint`: what a file holds and whether it loads. Builds the model the file
    /// implies (its meta's, or the tensors' shape for `frames` x `bins` inputs), loads it as
    /// `--init` would, and reports the process's peak resident memory.
    public static func inspect(checkpoint: String, heads: Int?, posEmbed: PositionalEmbeddingInit,
                               frames: Int = ModelConfig.paperInputFrames, bins: Int = ModelConfig.paperInputBins, device: String = "cpu",
                               report: @escaping (String) -> Void = writeLine) throws(TrainingError) {
        guard FileManager.default.fileExists(atPath: checkpoint) else {
            throw .checkpoint(path: checkpoint, message: "no such checkpoint")
        }
        let size = (try? FileManager.default.attributesOfItem(atPath: checkpoint)[.size] as? Int) ?? 0
        // What the process held before reading the file: libtorch's own libraries and allocator
        // (about 190 MB for Debian's 1.13, more for a CUDA build of 2.x with its libraries mapped).
        let baseline = peakResidentBytes() ?? 0
        let file = try LoadedCheckpoint(path: checkpoint)
        report("\(checkpoint): \(file.layout.rawValue), \(file.formatName) format, \(file.tensors.count) tensors, \(size / 1_000_000) MB\(file.epoch.map { ", epoch \($0)" } ?? "")")
        let config: ModelConfig
        if file.meta != nil {
            config = try CheckpointMeta.read(file).options.model
        } else {
            let architecture = try file.architecture()
            config = try architecture.modelConfig(frames: frames, bins: bins, heads: heads, numClasses: architecture.numClasses ?? 4)
        }
        report("model: D \(config.embedDim), \(config.depth) blocks, \(config.heads) heads, MLP \(config.mlpHidden), strides \(config.fstride)/\(config.tstride), \(config.inputFrames) x \(config.inputBins) input, \(config.numClasses) classes")
        let model: ASTModel
        do { model = try ASTModel(config: config, device: device) } catch { throw .torch(error) }
        let result = try file.load(into: model, policy: .initialise(posEmbed: posEmbed))
        report("loaded: \(result)")
        if let peak = peakResidentBytes() {
            report(String(format: "peak resident memory %.0f MB (%.2f x the file)", Double(peak) / 1e6, size > 0 ? Double(peak) / Double(size) : 0))
            report(String(format: "of which loading %.0f MB (%.2f x the file) above the %.0f MB held before reading it",
                          Double(peak - baseline) / 1e6, size > 0 ? Double(peak - baseline) / Double(size) : 0, Double(baseline) / 1e6))
        }
    }

    /// VmHWM of this process (Linux), in bytes.
    static func peakResidentBytes() -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
              let kb = Int(line.split(separator: " ").dropFirst().first ?? "") else { return nil }
        return kb * 1024
    }
}

/// Writes one line to standard output unbuffered (progress shows up at once in logs and pipes).
public func writeLine(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}
