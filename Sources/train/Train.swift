import ArgumentParser
import Foundation
import Training

extension TrainingMethod: ExpressibleByArgument {}
extension ClusterScheduler: ExpressibleByArgument {}
extension NegativePair: ExpressibleByArgument {}

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
            torch.load(path): {"model": state dict, "optimizer": Adam state, "meta": JSON string}.
            Presets: \(ModelPreset.all.map { "\($0.name) (\($0.summary))" }.joined(separator: "; ")).

            Sweeps: --method, --seed and --test-fold take lists (ce,patchmix_cl; 1-5; 0-4). A sweep
            runs every combination, each in <output>/<method>/fold-<k>|official/seed-<s>/ and each
            exactly the run the single command would do; each finished run writes result.json.
            Rerun the same command to skip finished runs and resume interrupted ones.
            --parallel N runs N at once (cores split between them); --emit slurm|k8s writes a job
            array / Indexed Job instead, whose tasks run `train ... --sweep-index i`.
            `train report <dir>...` aggregates result.json files into results.md and results.json.
            """)

    @Option(help: "Feature-set directory with index.json and HDF5 shards.")
    var shards: String

    @Option(help: "Model preset: \(ModelPreset.all.map(\.name).joined(separator: ", ")).")
    var model: String = "ast-base"

    @Option(help: "AudioSet AST checkpoint (keys module.v.*) or one of this trainer's checkpoints to start from.")
    var `init`: String?

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
    @Flag(help: "Weight the cross-entropy by inverse class frequency.") var classWeightedLoss = false
    @Flag(help: "Sample training cycles with replacement, weighted by inverse class frequency.") var weightedSampler = false

    @Option(help: "cpu or cuda (default: cuda when libtorch sees one).") var device: String?
    @Option(help: "Intra-op threads for libtorch (default: libtorch's).") var threads: Int?
    @Option(help: "Run directory for checkpoints and log (default: runs/<model>-<method>-s<seed>).") var output: String?
    @Flag(help: "Continue the run in --output from its last.pth (with that run's options).") var resume = false

    @Option(help: ArgumentHelp("Benchmark N training steps (after one warm-up step) and print one JSON line; uses the shards' train split, or random data when --shards is 'random'.", valueName: "N"))
    var benchmarkSteps: Int?

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

    func validate() throws {
        guard ModelPreset.named(model) != nil else {
            throw ValidationError("unknown --model \(model); presets: \(ModelPreset.all.map(\.name).joined(separator: ", "))")
        }
        if eval && checkpoint == nil { throw ValidationError("--eval needs --checkpoint") }
        if !eval && checkpoint != nil { throw ValidationError("--checkpoint is only used with --eval") }
        if resume && `init` != nil { throw ValidationError("--resume continues a run; --init starts a new one") }
        if let device, device != "cpu" && !device.hasPrefix("cuda") {
            throw ValidationError("--device must be cpu or cuda")
        }
        if ![2, 4].contains(classes) { throw ValidationError("--classes must be 4 or 2") }
        if let batchSize, batchSize < 2 { throw ValidationError("--batch-size must be at least 2") }
        if let epochs, epochs < 1 { throw ValidationError("--epochs must be at least 1") }
        if temperature <= 0 { throw ValidationError("--temperature must be positive") }
        if mixBeta <= 0 { throw ValidationError("--mix-beta must be positive") }
        let plan: SweepPlan
        do { plan = try sweepPlan() } catch { throw ValidationError("\(error)") }
        if let parallel, parallel < 1 { throw ValidationError("--parallel must be at least 1") }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
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
        options.initCheckpoint = `init`
        return options
    }

    /// Runs, emits or dispatches the sweep.
    func runSweep(_ plan: SweepPlan, preset: ModelPreset, device: String) throws {
        let root = output ?? "runs/\(model)-sweep"
        if let index = sweepIndex {
            let run = try plan.run(at: index)
            let directory = (root as NSString).appendingPathComponent(run.relativeDirectory)
            switch RunState(directory: directory) {
            case .finished:
                writeLine("\(directory): finished (\(RunResult.fileName) exists), nothing to do")
            case .interrupted:
                writeLine("\(directory): resuming from last.pth")
                try TrainingSession.train(shards: shards, options: runOptions(run, preset: preset, device: device, outputDirectory: directory), resume: true)
            case .notStarted:
                try TrainingSession.train(shards: shards, options: runOptions(run, preset: preset, device: device, outputDirectory: directory), resume: false)
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

    func run() throws {
        if let threads { Torch.limitThreads(to: threads) }
        let device = device ?? (Torch.cudaAvailable ? "cuda" : "cpu")
        do {
            if eval {
                try TrainingSession.evaluate(checkpoint: checkpoint!, shards: shards, device: device)
                return
            }
            let preset = ModelPreset.named(model)!
            if let steps = benchmarkSteps {
                var options = TrainingOptions(preset: preset, outputDirectory: "")
                options.method = try sweepPlan().runs[0].method
                options.maBeta = maBeta ?? preset.maBeta
                if let batchSize { options.batchSize = batchSize }
                options.device = device
                options.specAugment = !noSpecAugment
                let source: any CycleSource = shards == "random"
                    ? StepBenchmark.randomCycles(count: 2 * options.batchSize, frames: 798, bins: 128)
                    : try ShardCycles(directory: shards, split: "train")
                options.model.inputFrames = source.frames
                options.model.inputBins = source.bins
                let result = try StepBenchmark.measure(options: options, source: source, steps: steps)
                writeLine(String(decoding: try JSONEncoder().encode(result), as: UTF8.self))
                return
            }
            let plan = try sweepPlan()
            if isSweep(plan) {
                try runSweep(plan, preset: preset, device: device)
                return
            }
            let run = plan.runs[0]
            let defaultOutput = "runs/\(model)-\(run.method.rawValue)-s\(run.seed)" + (run.testFold.map { "-fold\($0)" } ?? "")
            let options = runOptions(run, preset: preset, device: device, outputDirectory: output ?? defaultOutput)
            try TrainingSession.train(shards: shards, options: options, resume: resume)
        } catch {
            FileHandle.standardError.write(Data("train: error: \(error)\n".utf8))
            throw ExitCode.failure
        }
    }
}
