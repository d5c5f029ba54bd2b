import Foundation

/// Trains an AST on a train split, evaluating on a test split after every epoch.
public final class Trainer {
    public let options: TrainingOptions
    public let train: any CycleSource
    public let test: any CycleSource
    /// A label task's run (`--task`): the task and its test splits, each evaluated and reported
    /// on its own (Run/TaskTraining.swift); nil and empty for ICBHI.
    public let task: TaskDefinition?
    public let taskTests: [TaskTest]
    public let model: ASTModel
    /// Called with one human-readable line per event (epoch results, checkpoints).
    public var report: (String) -> Void = writeLine
    public private(set) var history: [EpochRecord] = []
    public private(set) var best = BestEpochTracker()
    /// Dynamic loss scaling of a `--amp` run (nil: fp32 training); replace it before `run()`
    /// to train with other scaler settings.
    public var gradScaler: GradScaler?
    /// What the forward passes compute in: "float32", or with `--amp` "float16" (CUDA) / "bfloat16" (CPU).
    public private(set) var computeType = "float32"
    private var startEpoch = 1
    /// The `--init` load's report, kept in checkpoint meta and the log.
    public private(set) var initReport: LoadedCheckpoint.Report?
    /// What `--init` loaded, as checkpoint meta records it.
    private(set) var initialization: String?

    public var lastCheckpoint: String { (options.outputDirectory as NSString).appendingPathComponent("last.pth") }
    public var bestCheckpoint: String { (options.outputDirectory as NSString).appendingPathComponent("best.pth") }
    public var logPath: String { (options.outputDirectory as NSString).appendingPathComponent("log.jsonl") }

    /// Builds the model (seeded), the optimizer, and loads `--init` weights when given.
    /// With `task`, `taskTests` are the test splits (`test` is not evaluated then).
    public init(options: TrainingOptions, train: any CycleSource, test: any CycleSource,
                task: TaskDefinition? = nil, taskTests: [TaskTest] = []) throws(TrainingError) {
        try options.validate()
        try Self.checkShapes(options.model, train, "train")
        try Self.checkShapes(options.model, test, "test")
        try Self.checkTask(task, tests: taskTests, options: options)
        // A run that cannot take one step would "train" 0 steps, report loss 0 and write a result.
        let dropLast = options.dropLastBatch ?? false
        guard Self.stepsPerEpoch(cycles: train.count, batchSize: options.batchSize, dropLast: dropLast) > 0 else {
            throw .invalidOption("the train split has \(train.count) cycles, fewer than one batch of --batch-size \(options.batchSize)"
                                 + (dropLast ? " (each epoch drops its last incomplete batch, as the paper's loader; --keep-last-batch keeps it)"
                                             : " (a batch of 1 cannot go through the projector's BatchNorm)")
                                 + ": not one training step; lower --batch-size")
        }
        let trainLabels = train.labels(classes: options.model.numClasses)
        if options.weightedSampler || options.classWeightedLoss {
            let counts = Self.classCounts(trainLabels, classes: options.model.numClasses)
            if let c = counts.firstIndex(of: 0) {
                throw .invalidOption("class \(c) has no training cycles: cannot weight by class frequency")
            }
        }
        self.options = options
        self.train = train
        self.test = test
        self.task = task
        self.taskTests = taskTests
        Torch.configureAllocatorForTraining()
        Torch.manualSeed(options.seed)
        do {
            model = try ASTModel(config: options.method.definition.model(options), device: options.device)
            try model.configureOptimizer(learningRate: options.learningRate, weightDecay: options.weightDecay)
            if options.amp == true {
                computeType = try model.setAutocast(true)
                gradScaler = GradScaler()
            }
        } catch { throw .torch(error) }
    }

    static func checkShapes(_ m: ModelConfig, _ s: any CycleSource, _ split: String) throws(TrainingError) {
        guard s.count > 0 else { throw .emptySplit(path: "(\(split) data)", split: "\(split) split") }
        guard s.frames == m.inputFrames && s.bins == m.inputBins else {
            throw .inputShape("the \(split) spectrograms are \(s.frames) frames x \(s.bins) bins, the model expects \(m.inputFrames) x \(m.inputBins)")
        }
    }

    /// Training steps of one epoch over `cycles` cycles, as `run` batches them: full batches, plus
    /// the last incomplete one when it is kept and holds more than one cycle.
    static func stepsPerEpoch(cycles: Int, batchSize: Int, dropLast: Bool) -> Int {
        let rest = cycles % batchSize
        return cycles / batchSize + (!dropLast && rest > 1 ? 1 : 0)
    }

    static func classCounts(_ labels: [Int], classes: Int) -> [Int] {
        var c = [Int](repeating: 0, count: classes)
        for l in labels { c[l] += 1 }
        return c
    }

    /// Loads `--init` weights (an AudioSet AST state dict, a paper-code or a project checkpoint,
    /// read in Swift); returns the loader's one-line report.
    public func loadInitialWeights(_ path: String) throws(TrainingError) -> String {
        let report = try LoadedCheckpoint(path: path).load(into: model, policy: .initialise(posEmbed: options.posEmbed ?? .aligned))
        initReport = report
        initialization = "\(path): \(report)"
        return report.description
    }

    /// Continues from `checkpoint` (normally `last.pth`): weights, Adam state, epoch, best, history.
    public func resume(from checkpoint: String) throws(TrainingError) {
        let file = try LoadedCheckpoint(path: checkpoint)
        let meta = try CheckpointMeta.read(file)
        guard meta.options.model == options.model else {
            throw .checkpoint(path: checkpoint, message: "was trained with another model shape (\(meta.options.model)) than requested (\(options.model))")
        }
        if let a = meta.options.featureSetID, let b = options.featureSetID, a != b {
            throw .checkpoint(path: checkpoint, message: "was trained on feature set \(a), these shards are \(b)")
        }
        try file.load(into: model, policy: .restore)
        try file.loadOptimizer(into: model)
        startEpoch = meta.epoch + 1
        restoreLossScale(from: meta, checkpoint: checkpoint)
        best = meta.best
        history = meta.history
        initialization = meta.initialization
        report("resumed from \(checkpoint) after epoch \(meta.epoch)")
    }

    /// The order in which an epoch visits the training cycles: a seeded permutation, or with
    /// `weightedSampler` a draw with replacement weighted by inverse class frequency.
    func epochOrder(epoch: Int, labels: [Int]) -> [Int] {
        if options.weightedSampler {
            var rng = TrainingRNG(seed: options.seed, .sampler, epoch)
            let counts = Self.classCounts(labels, classes: options.model.numClasses)
            let weights = labels.map { 1.0 / Double(counts[$0]) }
            var cumulative = [Double](), sum = 0.0
            for w in weights { sum += w; cumulative.append(sum) }
            return (0..<labels.count).map { _ in
                let u = rng.uniform() * sum
                var lo = 0, hi = cumulative.count - 1
                while lo < hi { let mid = (lo + hi) / 2; if cumulative[mid] > u { hi = mid } else { lo = mid + 1 } }
                return lo
            }
        }
        var rng = TrainingRNG(seed: options.seed, .shuffle, epoch)
        return rng.permutation(labels.count)
    }

    /// Runs the remaining epochs (or stops after `stopAfterEpoch`, as an interrupted run would);
    /// returns the history.
    @discardableResult
    public func run(stopAfterEpoch: Int? = nil) throws(TrainingError) -> [EpochRecord] {
        do {
            try FileManager.default.createDirectory(atPath: options.outputDirectory, withIntermediateDirectories: true)
        } catch { throw .runDirectory("cannot create \(options.outputDirectory): \(error)") }
        let classes = options.model.numClasses
        let labels = train.labels(classes: classes)
        let method = options.method.definition
        let groups = try method.groups(options).map { kind throws(TrainingError) in try train.groups(kind, metaFile: options.metaFile) }
        var objective = options.objective
        if options.classWeightedLoss {
            let counts = Self.classCounts(labels, classes: classes)
            let inv = counts.map { 1.0 / Double($0) }
            let mean = inv.reduce(0, +) / Double(classes)
            objective.classWeights = inv.map { Float($0 / mean) }
        }
        // The log holds exactly the epochs behind this run's state: a killed run may have logged
        // an epoch whose checkpoint never landed, and a fresh start must not inherit old lines.
        try rewriteLog()
        var globalStep = history.reduce(0) { $0 + $1.steps }
        let lastEpoch = min(options.epochs, stopAfterEpoch ?? options.epochs)
        // Empty when every epoch is done (a run killed after its last checkpoint, before its result).
        for epoch in stride(from: startEpoch, through: lastEpoch, by: 1) {
            let lr = cosineLearningRate(base: options.learningRate, epoch: epoch, epochs: options.epochs)
            do { try model.setLearningRate(lr) } catch { throw .torch(error) }
            let order = epochOrder(epoch: epoch, labels: labels)
            var batches = stride(from: 0, to: order.count, by: options.batchSize).map {
                Array(order[$0..<min($0 + options.batchSize, order.count)])
            }
            // The paper's loader drops the last incomplete batch (drop_last=True); when it is kept, a
            // lone last sample still cannot go through the projector's BatchNorm in training mode.
            if let last = batches.last, last.count < options.batchSize && (options.dropLastBatch ?? false) || last.count == 1 {
                batches.removeLast()
            }
            let loader = BatchLoader(source: train, batches: batches, labels: labels,
                                     augment: options.specAugment && method.augmentsEachCycle ? SpecAugment() : nil,
                                     seed: options.seed, epoch: epoch)
            defer { loader.cancel() }
            let t0 = Date()
            var sums = (loss: 0.0, ce: 0.0, con: 0.0), steps = 0, finiteSteps = 0
            while true {
                let batch: Batch?
                do { batch = try loader.next() } catch {
                    throw .shards(path: "(training data)", message: "reading a batch failed: \(error)")
                }
                guard let batch else { break }
                let position = StepPosition(epoch: epoch, step: steps, stepsPerEpoch: batches.count, epochs: options.epochs)
                let input = StepInput(x: batch.x, labels: batch.labels, groups: groups.map { g in batch.indices.map { Int64(g[$0]) } },
                                      draws: method.draws(x: batch.x, batch: batch.count, model: model, options: options, at: position))
                globalStep += 1
                let losses: StepLosses
                do {
                    losses = try method.step(model: model, input: input, objective: objective, lossScale: gradScaler?.scale)
                } catch {
                    if error.nonFiniteLoss {
                        throw .nonFiniteLoss(epoch: epoch, step: steps + 1, globalStep: globalStep, loss: .nan)
                    }
                    throw .torch(error)
                }
                if let line = updateLossScale(after: losses, epoch: epoch, step: steps + 1) { report(line) }
                if losses.loss.isFinite { // a skipped --amp step may have a NaN loss
                    sums.loss += losses.loss
                    sums.ce += losses.ceLoss
                    sums.con += losses.conLoss
                    finiteSteps += 1
                }
                steps += 1
            }
            let trainSeconds = Date().timeIntervalSince(t0)
            let t1 = Date()
            let evalSeconds: Double
            let metrics: (sp: Double, se: Double, score: Double, sp2: Double, se2: Double, score2: Double)
            let isBest: Bool, confusion: [[Int]], tests: [SplitEvaluation]?
            if let task {
                let splits = try evaluateTaskTests(task, classes: classes)
                evalSeconds = Date().timeIntervalSince(t1)
                // The 2-class view's SP is the task's own (`SplitEvaluation`): one mean for both.
                let sp = TaskSelection.mean(splits, \.specificity), selection = TaskSelection.mean(splits, \.score)
                metrics = (sp, TaskSelection.mean(splits, \.sensitivity), selection,
                           sp, TaskSelection.mean(splits, \.sensitivity2), TaskSelection.mean(splits, \.score2))
                isBest = best.offer(epoch: epoch, taskScore: selection)
                confusion = TaskSelection.pooledConfusion(splits)
                tests = splits
            } else {
                let evaluation = try evaluate(model: model, source: test, classes: classes, batchSize: options.evalBatchSize)
                evalSeconds = Date().timeIntervalSince(t1)
                isBest = best.offer(epoch: epoch, score: evaluation.score)
                let s = evaluation.score, s2 = evaluation.twoClass
                metrics = (s.specificity, s.sensitivity, s.score, s2.specificity, s2.sensitivity, s2.score)
                confusion = evaluation.confusion.matrix
                tests = nil
            }
            let record = EpochRecord(
                epoch: epoch, learningRate: lr, trainLoss: sums.loss / Double(max(finiteSteps, 1)),
                trainCELoss: sums.ce / Double(max(finiteSteps, 1)), trainConLoss: sums.con / Double(max(finiteSteps, 1)),
                steps: steps, specificity: metrics.sp, sensitivity: metrics.se, score: metrics.score,
                specificity2: metrics.sp2, sensitivity2: metrics.se2, score2: metrics.score2, best: isBest,
                trainSeconds: trainSeconds, evalSeconds: evalSeconds,
                dataWaitFraction: trainSeconds > 0 ? loader.waitSeconds / trainSeconds : 0,
                confusion: confusion, posEmbed: posEmbedUsed, tests: tests)
            if task != nil {
                report(taskEpochLine(record))
            } else {
                report(String(format: "epoch %3d/%d  lr %.2e  loss %.4f  Sp %.2f  Se %.2f  Score %.2f  (2-class Sp %.2f Se %.2f Score %.2f)%@  %.1fs train, %.1fs eval, data wait %.1f%%",
                              epoch, options.epochs, lr, record.trainLoss, metrics.sp, metrics.se, metrics.score,
                              metrics.sp2, metrics.se2, metrics.score2, isBest ? "  *best*" : "", trainSeconds, evalSeconds,
                              record.dataWaitFraction * 100))
            }
            history.append(record)
            try appendLog(record)
            do { try TrainingCurves.write(history, to: options.outputDirectory) } catch {
                throw .writeFailed("cannot write \(TrainingCurves.fileName) in \(options.outputDirectory): \(error)")
            }
            // best.pth first: a run killed between the two resumes from the previous last.pth and
            // redoes this epoch (deterministically, so it is best again and rewrites best.pth: on the
            // CPU always, on a GPU with --deterministic, docs/gpu.md); the other order would resume believing best.pth holds this epoch when it holds an older one.
            if isBest { try save(path: bestCheckpoint, epoch: epoch) }
            try save(path: lastCheckpoint, epoch: epoch)
        }
        let resultPath = (options.outputDirectory as NSString).appendingPathComponent(RunResult.fileName)
        if history.count == options.epochs, let last = history.last, last.epoch == options.epochs,
           startEpoch <= lastEpoch || !FileManager.default.fileExists(atPath: resultPath) {
            try RunResult(options: options, history: history, best: best, threads: Torch.threads)
                .write(directory: options.outputDirectory)
        }
        if let task {
            reportTaskSummary(task)
        } else {
            if let e = best.epoch, let b = best.best {
                report(String(format: "best epoch %d: Sp %.2f  Se %.2f  Score %.2f", e, b.specificity, b.sensitivity, b.score))
            } else {
                report("no epoch reached Se > 5: no best checkpoint")
            }
            if let last = history.last {
                report("confusion matrix of the last epoch (rows: true, columns: predicted):\n" + formatConfusion(last.confusion))
            }
        }
        return history
    }

    /// The positional-embedding init this run used, if it adapted the AudioSet grid.
    private var posEmbedUsed: PositionalEmbeddingInit? {
        initReport?.posEmbed ?? history.last?.posEmbed
    }
}
