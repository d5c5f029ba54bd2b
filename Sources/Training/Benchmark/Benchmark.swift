import Foundation

/// Milliseconds per training step, measured the way training runs: batches from the
/// background loader (with SpecAugment), the method's draws in Swift, one step of its graph.
public struct StepBenchmark: Codable, Sendable {
    public var preset: String
    public var method: TrainingMethod
    public var batchSize: Int
    public var steps: Int
    public var warmup: Int
    public var threads: Int
    public var msPerStep: Double
    /// Process CPU time per step (all threads: libtorch's and the loader's); less sensitive
    /// than wall time to other load on the machine.
    public var cpuMsPerStep: Double
    /// Mean time the step loop waited for the loader, per step.
    public var dataWaitMsPerStep: Double
    public var parameters: Int
    /// "float32", or with `--amp` the autocast type ("float16" on CUDA, "bfloat16" on CPU).
    public var computeType: String = "float32"
    /// `--amp`: timed steps the loss scaler skipped (inf/NaN gradients), and the final scale.
    public var skippedSteps: Int = 0
    public var lossScale: Float?
    /// libtorch's version, and on a GPU its allocator's peak memory in MiB (PyTorch's
    /// max_memory_allocated / max_memory_reserved; nil on CPU).
    public var torch: String = Torch.version
    public var peakAllocatedMiB: Double?
    public var peakReservedMiB: Double?
    /// libtorch operator calls of one more step after the timed ones (not timed), all of them
    /// and the optimizer phase's (`OperatorCalls`; docs/gpu.md).
    public var operatorCalls: OperatorCalls?

    /// Runs `warmup` + `steps` steps on `source` (cycled) and times the last `steps`.
    public static func measure(options: TrainingOptions, source: any CycleSource, steps: Int,
                               warmup: Int = 1) throws(TrainingError) -> StepBenchmark {
        Torch.configureAllocatorForTraining()
        Torch.manualSeed(options.seed)
        let model: ASTModel
        do {
            model = try ASTModel(config: options.method.definition.model(options), device: options.device)
            try model.configureOptimizer(learningRate: options.learningRate, weightDecay: options.weightDecay)
        } catch { throw .torch(error) }
        var computeType = "float32"
        var scaler: GradScaler?
        if options.amp == true {
            do { computeType = try model.setAutocast(true) } catch { throw .torch(error) }
            scaler = GradScaler()
        }
        var skipped = 0
        let labels = source.labels(classes: options.model.numClasses)
        let total = warmup + steps
        // One batch more than timed: the step whose operator calls are counted.
        let batches = (0...total).map { b in (0..<options.batchSize).map { (b * options.batchSize + $0) % source.count } }
        let method = options.method.definition
        let groups = try method.groups(options).map { kind throws(TrainingError) in try source.groups(kind, metaFile: options.metaFile) }
        let loader = BatchLoader(source: source, batches: batches, labels: labels,
                                 augment: options.specAugment && method.augmentsEachCycle ? SpecAugment() : nil,
                                 seed: options.seed, epoch: 1)
        defer { loader.cancel() }
        var start = DispatchTime.now().uptimeNanoseconds
        var cpuStart = processCPUSeconds()
        var waitAtStart = 0.0
        /// The next batch as step `step`'s input; positions count the counted step too.
        func input(at step: Int) throws(TrainingError) -> StepInput {
            let batch: Batch
            do { batch = try loader.next()! } catch {
                throw .shards(path: "(benchmark data)", message: "\(error)")
            }
            let position = StepPosition(epoch: 1, step: step, stepsPerEpoch: total + 1, epochs: 1)
            return StepInput(x: batch.x, labels: batch.labels, groups: groups.map { g in batch.indices.map { Int64(g[$0]) } },
                             draws: method.draws(x: batch.x, batch: batch.count, model: model, options: options, at: position))
        }
        for step in 0..<total {
            if step == warmup {
                start = DispatchTime.now().uptimeNanoseconds
                cpuStart = processCPUSeconds()
                waitAtStart = loader.waitSeconds
            }
            let stepInput = try input(at: step)
            let losses: StepLosses
            do {
                losses = try method.step(model: model, input: stepInput, objective: options.objective, lossScale: scaler?.scale)
            } catch { throw .torch(error) }
            scaler?.update(foundInf: losses.skipped)
            if losses.skipped && step >= warmup { skipped += 1 }
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let cpuSeconds = processCPUSeconds() - cpuStart
        let waitSeconds = loader.waitSeconds - waitAtStart
        // One step more, not timed: its libtorch operator calls.
        let counted = try input(at: total)
        let operatorCalls: OperatorCalls?
        do {
            operatorCalls = try Torch.countingOperatorCalls { () throws(TorchError) in
                _ = try method.step(model: model, input: counted, objective: options.objective, lossScale: scaler?.scale)
            }.calls
        } catch { throw .torch(error) }
        let peak = model.acceleratorPeakMemory
        return StepBenchmark(preset: options.preset, method: options.method, batchSize: options.batchSize, steps: steps,
                             warmup: warmup, threads: Torch.threads, msPerStep: seconds / Double(steps) * 1000,
                             cpuMsPerStep: cpuSeconds / Double(steps) * 1000,
                             dataWaitMsPerStep: waitSeconds / Double(steps) * 1000,
                             parameters: model.parameterCount, computeType: computeType, skippedSteps: skipped,
                             lossScale: scaler?.scale,
                             peakAllocatedMiB: peak.map { Double($0.allocated) / 1_048_576 },
                             peakReservedMiB: peak.map { Double($0.reserved) / 1_048_576 },
                             operatorCalls: operatorCalls)
    }

    /// Random spectrograms for benchmarking without shards.
    public static func randomCycles(count: Int, frames: Int, bins: Int, seed: UInt64 = 1) -> InMemoryCycles {
        var rng = TrainingRNG(seed: seed)
        let features = (0..<(count * frames * bins)).map { _ in Float(rng.uniform(-1, 1)) }
        // Every kind of group, cycling through its codes, so that any method runs on random data.
        let metadata = Dictionary(uniqueKeysWithValues: CycleMetadata.allCases.map { kind in
            (kind, (0..<count).map { ($0 * 3 + 1) % kind.classes })
        })
        return InMemoryCycles(frames: frames, bins: bins, labels: (0..<count).map { $0 % 4 }, features: features,
                              metadata: metadata)
    }
}

/// CPU time of the whole process (`clock_gettime(CLOCK_PROCESS_CPUTIME_ID)`).
func processCPUSeconds() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
}
