import ArgumentParser
import FeatureStore
import Foundation
import Training

extension TrainingMethod: ExpressibleByArgument {}
extension ClusterScheduler: ExpressibleByArgument {}
extension NegativePair: ExpressibleByArgument {}
extension PositionalEmbeddingInit: ExpressibleByArgument {}

/// `train report ...` is its own command; everything else is a training run or sweep.
@main
enum TrainMain {
    static func main() {
        let arguments = Array(CommandLine.arguments.dropFirst())
        if arguments.first == "report" {
            Report.main(Array(arguments.dropFirst()))
        } else {
            Train.main(arguments)
        }
    }
}

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train an Audio Spectrogram Transformer with Patch-Mix contrastive learning on ICBHI feature shards.",
        discussion: """
            Reads cache/<feature-set>/ as written by `prep features`, trains on its train split and
            evaluates on its test split after every epoch (Sp, Se, ICBHI score, 2-class view).
            Writes <output>/log.jsonl (one JSON object per epoch), <output>/last.pth and
            <output>/best.pth (best: highest score with Se > 5). Checkpoints open in Python with
            torch.load(path) and follow the paper code's layout: {"model": AST state dict (v.*),
            "classifier": LayerNorm + Linear (0.*, 1.*), "projector", "optimizer", "meta": JSON}.
            --init and --eval read PyTorch files themselves (zip or legacy format, dict or
            OrderedDict, float16/32/64): the AudioSet AST, the paper code's checkpoints, ours.
            Presets: \(ModelPreset.all.map { "\($0.name) (\($0.summary))" }.joined(separator: "; ")).

            Sweeps: --method, --seed and --test-fold take lists (ce,patchmix_cl; 1-5; 0-4). A sweep
            runs every combination, each in <output>/<method>/fold-<k>|official/seed-<s>/ and each
            exactly the run the single command would do; each finished run writes result.json.
            Rerun the same command to skip finished runs and resume interrupted ones.
            --parallel N runs N at once (cores split between them); --emit slurm|k8s writes a job
            array / Indexed Job instead, whose tasks run `train ... --sweep-index i`.
            `train report <dir>...` aggregates result.json files into results.md and results.json.
            """)

    @Option(help: "Feature set written by `prep features`: its directory, or a directory holding exactly one (`--shards cache/`). Required except with --inspect-checkpoint.")
    var shards: String?

    @Option(help: "Model preset: \(ModelPreset.all.map(\.name).joined(separator: ", ")) (default ast-base; with --init the recipe of ast-base and the checkpoint's shape).")
    var model: String?

    @Option(help: "Checkpoint to start from: the AudioSet AST (module.v.*), the paper code's or this trainer's. The model's shape (D, depth, strides) comes from it.")
    var `init`: String?

    @Option(help: "With --init of the AudioSet grid: 'paper' (the paper's init: its swapped input sizes stretch the 12 frequency rows to 79 and keep time columns 44..55) or 'aligned' (each patch its own grid cell).")
    var posEmbed: PositionalEmbeddingInit = .paper

    @Option(help: "Attention heads: overrides the preset's; for a model whose shape comes from a checkpoint (--init, --eval of a foreign checkpoint) the default is D / 64.")
    var heads: Int?

    @Option(help: "Objective: ce, patchmix or patchmix_cl; a comma list sweeps them.")
    var method: String = TrainingMethod.patchmix_cl.rawValue

    @Option(help: "Weight of the contrastive loss.") var alpha: Float = 1
    @Option(help: "Contrastive temperature.") var temperature: Float = 0.06
    @Option(help: "Beta(mix_beta, mix_beta) draws Patch-Mix's lambda.") var mixBeta: Double = 1
    @Option(help: "Contrastive negatives: all or diff_label.") var negativePair: NegativePair = .all

    @Option(help: "Learning rate (default: the preset's).") var lr: Double?
    @Option(help: "Adam weight decay (default: the preset's).") var weightDecay: Double?
    @Option(help: "Batch size (default: the preset's).") var batchSize: Int?
    @Option(help: "Epochs (default: the preset's).") var epochs: Int?
    @Option(help: "Moving-average beta after each step; 0 disables (default: the preset's).") var maBeta: Float?
    @Option(help: "Classes: 4 (normal/crackle/wheeze/both) or 2 (normal/abnormal).") var classes: Int = 4
    @Option(help: "Seed for initialisation, shuffling, SpecAugment and Patch-Mix; a list (1-5, 1,2,3) sweeps them.")
    var seed: String = "1"
    @Option(help: ArgumentHelp("Patient-wise test fold (0-4) of patient_list_foldwise.txt, as the paper code's --test_fold: train on the other folds' patients, test on fold k's, regardless of the official split. A list (0-4) sweeps folds. Default: the official split.", valueName: "k"))
    var testFold: String?
    @Flag(help: "Disable SpecAugment (icbhi_ast_sup).") var noSpecAugment = false
    @Flag(help: "Keep each epoch's last incomplete batch (the paper's loader drops it: drop_last=True).") var keepLastBatch = false
    @Flag(help: "Weight the cross-entropy by inverse class frequency.") var classWeightedLoss = false
    @Flag(help: "Sample training cycles with replacement, weighted by inverse class frequency.") var weightedSampler = false

    @Option(help: "cpu or cuda (default: cuda when libtorch sees one).") var device: String?
    @Option(help: "CPU threads for the run: bounds libtorch's intra-op pool and OpenBLAS's pool together (default: all cores).") var threads: Int?
    @Flag(inversion: .prefixedNo, help: "Mixed precision as the paper trains: autocast (float16 on cuda, bfloat16 on cpu) around the forward passes and losses, dynamic loss scaling with inf/NaN steps skipped (default: on for cuda, off for cpu).")
    var amp: Bool?
    @Option(help: "Run directory for checkpoints and log (default: runs/<model>-<method>-s<seed>).") var output: String?
    @Flag(help: "Continue the run in --output from its last.pth (with that run's options).") var resume = false

    @Option(help: ArgumentHelp("Benchmark N training steps (after one warm-up step) and print one JSON line; uses the shards' train split, or random data when --shards is 'random'.", valueName: "N"))
    var benchmarkSteps: Int?

    @Option(help: ArgumentHelp("Read a checkpoint, print its layout, format and model shape, load it into that model (\(ModelConfig.paperInputFrames) x \(ModelConfig.paperInputBins) input) and print the loader's report and peak memory; no shards needed.", valueName: "file"))
    var inspectCheckpoint: String?

    @Option(help: "Sweeps: runs at once on this machine (cores split between them; CUDA: one device each).")
    var parallel: Int?
    @Option(help: "Sweeps: write a cluster job instead of running: slurm (sbatch job array) or k8s (Indexed Job).")
    var emit: ClusterScheduler?
    @Option(help: "Sweeps: run only run number i of the sweep (what each cluster task does).")
    var sweepIndex: Int?
    @Option(help: "--emit k8s: container image holding the train binary.") var image: String = "icbhi-train:latest"
    @Option(help: "--emit k8s: PersistentVolumeClaim mounted at the working directory.") var volumeClaim: String = "icbhi-data"

    @Flag(help: "Only evaluate --checkpoint on the test split.") var eval = false
    @Option(help: "Checkpoint to evaluate with --eval.") var checkpoint: String?
    @Option(help: ArgumentHelp("With --eval: write one row per test cycle, recording,start,end,p_<class>...,predicted (the rows `predict` writes; JSON when FILE ends in .json).", valueName: "FILE"))
    var predictions: String?

    /// Command-line structure here; every rule on a run's options is `TrainingOptions.validate`'s,
    /// checked on the options of every run the command would do, before anything is written.
    func validate() throws {
        if shards == nil && inspectCheckpoint == nil { throw ValidationError("--shards is required") }
        if eval && checkpoint == nil { throw ValidationError("--eval needs --checkpoint") }
        if !eval && checkpoint != nil { throw ValidationError("--checkpoint is only used with --eval") }
        if !eval && predictions != nil { throw ValidationError("--predictions is only used with --eval") }
        if resume && `init` != nil { throw ValidationError("--resume continues a run; --init starts a new one") }
        let plan: SweepPlan
        do {
            plan = try sweepPlan()
            let preset = try ModelPreset.resolve(model ?? ModelPreset.astBase.name)
            if let heads { try ModelConfig.validate(heads: heads) }
            for run in plan.runs {
                try runOptions(run, preset: preset, device: device ?? "cpu", outputDirectory: output ?? "").validate()
            }
        } catch { throw ValidationError("\(error)") }
        if let parallel, parallel < 1 { throw ValidationError("--parallel must be at least 1") }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
        if let benchmarkSteps, benchmarkSteps < 1 { throw ValidationError("--benchmark-steps must be at least 1") }
        if isSweep(plan) {
            if eval || benchmarkSteps != nil { throw ValidationError("--eval and --benchmark-steps take one method and seed, not lists") }
            if resume { throw ValidationError("sweeps resume by themselves: rerun the same command without --resume") }
        } else if plan.count > 1 || parallel != nil || emit != nil {
            throw ValidationError("--parallel and --emit are for sweeps")
        }
        if emit != nil && sweepIndex != nil { throw ValidationError("--emit writes a job for the whole sweep; leave out --sweep-index") }
    }

    func sweepPlan() throws -> SweepPlan {
        try SweepPlan.parse(methods: method, testFolds: testFold, seeds: seed)
    }

    /// A sweep lays runs out under <output>/<method>/...; a single run writes into --output itself.
    func isSweep(_ plan: SweepPlan) -> Bool {
        plan.count > 1 || sweepIndex != nil || parallel != nil || emit != nil
    }

    /// Whether the model's shape comes from a file (--init, --resume, --eval, --inspect-checkpoint):
    /// then --heads applies to that shape, not the preset's.
    var shapeFromFile: Bool { `init` != nil || resume || eval || inspectCheckpoint != nil }

    /// The options of one run: the command line's, with the run's swept values.
    func runOptions(_ run: SweepRun, preset: ModelPreset, device: String, outputDirectory: String) -> TrainingOptions {
        var options = TrainingOptions(preset: preset, outputDirectory: outputDirectory)
        options.model.numClasses = classes
        options.method = run.method
        options.alpha = alpha
        options.temperature = temperature
        options.mixBeta = mixBeta
        options.negativePair = negativePair
        if let lr { options.learningRate = lr }
        if let weightDecay { options.weightDecay = weightDecay }
        if let batchSize { options.batchSize = batchSize }
        if let epochs { options.epochs = epochs }
        if let maBeta { options.maBeta = maBeta }
        options.seed = run.seed
        options.testFold = run.testFold
        options.specAugment = !noSpecAugment
        options.classWeightedLoss = classWeightedLoss
        options.weightedSampler = weightedSampler
        options.device = device
        options.amp = amp ?? device.hasPrefix("cuda")
        options.initCheckpoint = `init`
        if let heads, !shapeFromFile { options.model.heads = heads }
        options.posEmbed = posEmbed
        options.dropLastBatch = !keepLastBatch
        return options
    }

    /// Runs, emits or dispatches the sweep.
    func runSweep(_ plan: SweepPlan, preset: ModelPreset, device: String, shards: String) throws {
        let root = output ?? "runs/\(preset.name)-sweep"
        if let index = sweepIndex {
            let run = try plan.run(at: index)
            let directory = (root as NSString).appendingPathComponent(run.relativeDirectory)
            switch RunState(directory: directory) {
            case .finished:
                writeLine("\(directory): finished (\(RunResult.fileName) exists), nothing to do")
            case .interrupted:
                writeLine("\(directory): resuming from last.pth")
                try TrainingSession.train(shards: shards, options: runOptions(run, preset: preset, device: device, outputDirectory: directory),
                                          resume: true, presetGiven: model != nil, heads: heads)
            case .notStarted:
                try TrainingSession.train(shards: shards, options: runOptions(run, preset: preset, device: device, outputDirectory: directory),
                                          resume: false, presetGiven: model != nil, heads: heads)
            }
            return
        }
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let arguments = SweepArguments.forRuns(Array(CommandLine.arguments.dropFirst()))
        let executable = Bundle.main.executablePath ?? CommandLine.arguments[0]
        if let emit {
            let job = ClusterJob(executable: executable, arguments: arguments,
                                 workingDirectory: FileManager.default.currentDirectoryPath, outputDirectory: root,
                                 runs: plan.count, threadsPerTask: threads ?? cores,
                                 gpusPerTask: device.hasPrefix("cuda") ? 1 : 0)
            let path = try SweepArguments.write(job, scheduler: emit, image: image, volumeClaim: volumeClaim,
                                                parallelism: parallel ?? plan.count)
            writeLine("\(plan.count) runs: wrote \(path)")
            switch emit {
            case .slurm: writeLine("submit with: sbatch \(path)")
            case .k8s: writeLine("submit with: kubectl apply -f \(path)")
            }
            return
        }
        let parallel = parallel ?? 1
        let cuda = device.hasPrefix("cuda")
        var runner = SweepRunner(plan: plan, outputDirectory: root, executable: executable, arguments: arguments,
                                 parallel: parallel, threadsPerRun: threads ?? max(1, cores / parallel),
                                 cudaDevicesPerSlot: cuda && parallel > 1)
        runner.report = writeLine
        try runner.run()
        writeLine("sweep done: `train report \(root)` tabulates it")
    }

    /// The feature set `--shards` names; a directory holding exactly one feature set (the cache)
    /// stands for it, and the choice is said. `random` is the benchmark's synthetic source.
    func locate(_ given: String) throws -> String {
        if given == "random" && benchmarkSteps != nil { return given }
        let found = try FeatureSetLocation.resolve(given, option: "--shards")
        if let note = found.note { writeLine(note) }
        return found.directory
    }

    func run() throws {
        // One budget for every thread pool, all cores unless --threads: a sweep's runs get theirs
        // explicitly, and a standalone run must compute exactly what they compute.
        Torch.limitThreads(to: threads ?? ProcessInfo.processInfo.activeProcessorCount)
        let device = device ?? (Torch.cudaAvailable ? "cuda" : "cpu")
        do {
            if let path = inspectCheckpoint {
                try TrainingSession.inspect(checkpoint: path, heads: heads, posEmbed: posEmbed, device: device)
                return
            }
            let shards = try locate(shards!)
            if eval {
                let result = try TrainingSession.evaluate(checkpoint: checkpoint!, shards: shards, device: device, heads: heads)
                if let predictions {
                    try TrainingSession.writePredictions(result, shards: shards, classes: result.confusion.matrix.count, to: predictions)
                    writeLine("predictions: \(predictions)")
                }
                return
            }
            let modelName = model ?? ModelPreset.astBase.name
            let preset = try ModelPreset.resolve(modelName)
            if let steps = benchmarkSteps {
                var options = TrainingOptions(preset: preset, outputDirectory: "")
                options.method = try sweepPlan().runs[0].method
                options.maBeta = maBeta ?? preset.maBeta
                if let batchSize { options.batchSize = batchSize }
                options.device = device
                options.amp = amp ?? device.hasPrefix("cuda")
                options.specAugment = !noSpecAugment
                let source: any CycleSource = shards == "random"
                    ? StepBenchmark.randomCycles(count: 2 * options.batchSize, frames: ModelConfig.paperInputFrames,
                                                 bins: ModelConfig.paperInputBins)
                    : try ShardCycles(directory: shards, split: "train")
                options.model.inputFrames = source.frames
                options.model.inputBins = source.bins
                let result = try StepBenchmark.measure(options: options, source: source, steps: steps)
                writeLine(String(decoding: try JSONEncoder().encode(result), as: UTF8.self))
                return
            }
            let plan = try sweepPlan()
            if isSweep(plan) {
                try runSweep(plan, preset: preset, device: device, shards: shards)
                return
            }
            let run = plan.runs[0]
            let defaultOutput = "runs/\(modelName)-\(run.method.rawValue)-s\(run.seed)" + (run.testFold.map { "-fold\($0)" } ?? "")
            let options = runOptions(run, preset: preset, device: device, outputDirectory: output ?? defaultOutput)
            try TrainingSession.train(shards: shards, options: options, resume: resume, presetGiven: model != nil, heads: heads)
        } catch {
            FileHandle.standardError.write(Data("train: error: \(error)\n".utf8))
            throw ExitCode.failure
        }
    }
}
