import ArgumentParser
import CProcessControl
import FeatureStore
import Foundation
import Training

extension TrainingMethod: ExpressibleByArgument {}
extension ClusterScheduler: ExpressibleByArgument {}
extension NegativePair: ExpressibleByArgument {}
extension PositionalEmbeddingInit: ExpressibleByArgument {}
extension CycleMetadata: ExpressibleByArgument {}
extension ContrastiveTarget: ExpressibleByArgument {}

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

            SPRSound feature sets: --task 1-1|1-2|2-1|2-2 trains on the task's rows of the train split
            and reports every other split (inter_test, intra_test, ...) with the challenge's SE, SP,
            AS, HS and Score; best: highest mean Score of inter_test and intra_test
            (docs/sprsound-training.md).
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

    @Option(help: "Objective: \(TrainingMethod.summaries); a comma list sweeps them.")
    var method: String = TrainingMethod.patchmix_cl.rawValue

    @Option(help: "Weight of the contrastive loss.") var alpha: Float = 1
    @Option(help: "Contrastive temperature.") var temperature: Float = 0.06
    @Option(help: "Beta(mix_beta, mix_beta) draws Patch-Mix's lambda.") var mixBeta: Double = 1
    @Option(help: "Contrastive negatives: all or diff_label.") var negativePair: NegativePair = .all
    @Option(help: "sgscl, dat: the cycles' groups: dev (stethoscope), age, sex, loc (chest location), label (default dev).")
    var meta: CycleMetadata?
    @Option(help: ArgumentHelp("--meta age|sex|loc: the per-patient metadata file (default manifests/icbhi/metadata.txt).", valueName: "file"))
    var metaFile: String?
    @Option(help: "sgscl: what each view contributes to the contrastive loss, as the SG-SCL code's --target_type (default project1_project2block: both projected, the second detached).")
    var targetType: ContrastiveTarget?
    @Option(help: "Projector output width (default: the model width D; 768 for ast-base, as the papers).")
    var projDim: Int?

    @Option(help: "Learning rate (default: the preset's).") var lr: Double?
    @Option(help: "Adam weight decay (default: the preset's).") var weightDecay: Double?
    @Option(help: "Batch size (default: the preset's).") var batchSize: Int?
    @Option(help: "Epochs (default: the preset's).") var epochs: Int?
    @Option(help: "Moving-average beta after each step; 0 disables (default: the preset's).") var maBeta: Float?
    @Option(help: "Classes: 4 (normal/crackle/wheeze/both) or 2 (normal/abnormal).") var classes: Int = 4
    @Option(help: ArgumentHelp("Feature sets with label tasks (SPRSound): the task, 1-1 or 1-2 (per event), 2-1 or 2-2 (per record); its classes come from the feature set. Trains on the train split, tests on every other split (inter_test, intra_test, test2023, ...) each on its own, with the challenge's SE, SP, AS, HS and Score (docs/sprsound-training.md). Required for such sets, refused for ICBHI.", valueName: "name"))
    var task: String?
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
    @Option(help: .hidden) var sweepParent: Int32?
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
        if let task {
            let given = Array(CommandLine.arguments.dropFirst())
            if given.contains(where: { $0 == "--classes" || $0.hasPrefix("--classes=") }) {
                throw ValidationError("--classes is ICBHI's (4 or 2); --task \(task) takes its classes from the feature set")
            }
            if eval { throw ValidationError("--eval takes the task from the checkpoint; leave out --task") }
        }
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
        if sweepParent != nil && sweepIndex == nil { throw ValidationError("--sweep-parent is for a sweep's runs (with --sweep-index)") }
    }

    /// The run-defining options this command line states (`--method ce`, `--epochs=3`): what
    /// `--resume` holds the run's checkpoint to.
    var statedOptions: Set<String> {
        let given = Array(CommandLine.arguments.dropFirst())
        return ResumeCheck.allOptions.filter { name in given.contains { $0 == name || $0.hasPrefix(name + "=") } }
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
        options.task = task
        options.method = run.method
        options.alpha = alpha
        options.temperature = temperature
        options.mixBeta = mixBeta
        options.negativePair = negativePair
        options.meta = meta
        options.metaFile = metaFile
        options.targetType = targetType
        if let projDim { options.model.projDim = projDim }
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
    func runSweep(_ plan: SweepPlan, preset: ModelPreset, device: DeviceSelection, environment: CUDAEnvironment, shards: String) throws {
        let root = output ?? "runs/\(preset.name)-sweep"
        if let index = sweepIndex {
            let run = try plan.run(at: index)
            let directory = (root as NSString).appendingPathComponent(run.relativeDirectory)
            // Decided under the run's lock; a local sweep's child writes its train.log itself from then on.
            try TrainingSession.trainSweepRun(shards: shards, options: runOptions(run, preset: preset, device: device.device, outputDirectory: directory),
                                              presetGiven: model != nil, heads: heads, projDim: projDim) { state throws(TrainingError) in
                if sweepParent != nil && state != .finished { try Self.redirectOutput(to: (directory as NSString).appendingPathComponent("train.log")) }
                if state != .finished { writeLine("device: \(device.device) (\(device.reason))") }
                if state == .interrupted { writeLine("\(directory): resuming from last.pth") }
            }
            return
        }
        let cores = ProcessInfo.processInfo.activeProcessorCount
        // Without --device: --device is decided here, once, and passed to every run explicitly.
        let arguments = SweepArguments.forRuns(Array(CommandLine.arguments.dropFirst()))
        let executable = Bundle.main.executablePath ?? CommandLine.arguments[0]
        if let emit {
            // The tasks run on other machines: they get --device as the user gave it (or none).
            let job = ClusterJob(executable: executable, arguments: arguments + (self.device.map { ["--device", $0] } ?? []),
                                 workingDirectory: FileManager.default.currentDirectoryPath, outputDirectory: root,
                                 runs: plan.count, threadsPerTask: threads ?? cores,
                                 gpusPerTask: device.device.hasPrefix("cuda") ? 1 : 0)
            let path = try SweepArguments.write(job, scheduler: emit, image: image, volumeClaim: volumeClaim,
                                                parallelism: parallel ?? plan.count)
            writeLine("\(plan.count) runs: wrote \(path)")
            switch emit {
            // Quoted: the user pastes this line into a shell.
            case .slurm: writeLine("submit with: sbatch \(ClusterJob.shellQuoted(path))")
            case .k8s: writeLine("submit with: kubectl apply -f \(ClusterJob.shellQuoted(path))")
            }
            return
        }
        let parallel = parallel ?? 1
        // Parallel CUDA runs: each its own device from those visible here, seen as its cuda:0.
        var slotDevices: [String]? = nil, runDevice = device.device
        if device.device.hasPrefix("cuda") && parallel > 1 {
            guard device.device == "cuda" else {
                throw TrainingError.device("--device \(device.device) names one device; --parallel \(parallel) gives each run a device of its own: use --device cuda")
            }
            slotDevices = try DeviceSelection.slotDevices(parallel: parallel, in: environment)
            runDevice = "cuda"
        }
        writeLine("device: \(device.device) (\(device.reason))" + (slotDevices.map { "; runs in parallel on CUDA_VISIBLE_DEVICES \($0.joined(separator: ", ")), one each" } ?? ""))
        var runner = SweepRunner(plan: plan, outputDirectory: root, executable: executable, arguments: arguments + ["--device", runDevice],
                                 parallel: parallel, threadsPerRun: threads ?? max(1, cores / parallel),
                                 slotDevices: slotDevices)
        runner.report = writeLine
        let elsewhere = try runner.run()
        if elsewhere.isEmpty {
            writeLine("sweep done: `train report \(root)` tabulates it")
        } else {
            writeLine("sweep: \(elsewhere.count) run(s) running elsewhere (\(elsewhere.joined(separator: ", "))); rerun this command once they have ended to complete the sweep")
        }
    }

    /// Appends this process's stdout and stderr to `path` from now on.
    static func redirectOutput(to path: String) throws(TrainingError) {
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .writeFailed("cannot open \(path): \(String(cString: strerror(errno)))") }
        dup2(fd, STDOUT_FILENO)
        dup2(fd, STDERR_FILENO)
        close(fd)
    }

    /// A local sweep's child dies with the sweep (SIGKILL on its parent's death): else a `kill -9`
    /// of the sweep leaves it training, reparented, holding the run's lock against a rerun.
    func dieWithSweepParent() {
        guard let parent = sweepParent else { return }
        switch pc_die_with_parent(parent) {
        case 0: return
        case 1: Foundation.exit(1) // the sweep is gone already: nobody is waiting for this run
        default: FileHandle.standardError.write(Data("train: warning: cannot arm the parent-death signal: \(String(cString: strerror(errno)))\n".utf8))
        }
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
        dieWithSweepParent()
        // One budget for every thread pool, all cores unless --threads: a sweep's runs get theirs
        // explicitly, and a standalone run must compute exactly what they compute.
        Torch.limitThreads(to: threads ?? ProcessInfo.processInfo.activeProcessorCount)
        let environment = CUDAEnvironment.current()
        do {
            // Decided once, and said: a requested device is used or refused, never replaced. An
            // emitted job's tasks run on other machines and decide there (with --device as given).
            let selection = emit == nil ? try DeviceSelection(requested: self.device, in: environment)
                : DeviceSelection(device: self.device ?? "cpu", reason: "as the job's tasks are told")
            let device = selection.device
            if try sweepIndex == nil && !isSweep(sweepPlan()) {
                // The benchmark's stdout is its one JSON line.
                let line = "device: \(device) (\(selection.reason))\n"
                FileHandle(fileDescriptor: benchmarkSteps == nil ? STDOUT_FILENO : STDERR_FILENO).write(Data(line.utf8))
            }
            if let path = inspectCheckpoint {
                try TrainingSession.inspect(checkpoint: path, heads: heads, posEmbed: posEmbed, device: device)
                return
            }
            let shards = try locate(shards!)
            if eval {
                let result = try TrainingSession.evaluate(checkpoint: checkpoint!, shards: shards, device: device, heads: heads)
                if let predictions {
                    try TrainingSession.writePredictions(result, shards: shards, to: predictions)
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
                options.alpha = alpha
                options.temperature = temperature
                options.meta = meta
                options.metaFile = metaFile
                options.targetType = targetType
                if let projDim { options.model.projDim = projDim }
                let source: any CycleSource = shards == "random"
                    ? StepBenchmark.randomCycles(count: 2 * options.batchSize, frames: ModelConfig.paperInputFrames,
                                                 bins: ModelConfig.paperInputBins)
                    : try ShardCycles(directory: shards, split: "train", task: task)
                if let classes = (source as? ShardCycles)?.task?.classes.count { options.model.numClasses = classes }
                options.model.inputFrames = source.frames
                options.model.inputBins = source.bins
                let result = try StepBenchmark.measure(options: options, source: source, steps: steps)
                writeLine(String(decoding: try JSONEncoder().encode(result), as: UTF8.self))
                return
            }
            let plan = try sweepPlan()
            if isSweep(plan) {
                try runSweep(plan, preset: preset, device: selection, environment: environment, shards: shards)
                return
            }
            let run = plan.runs[0]
            let defaultOutput = "runs/\(modelName)-\(run.method.rawValue)-s\(run.seed)" + (run.testFold.map { "-fold\($0)" } ?? "")
                + (task.map { "-task\($0)" } ?? "")
            let options = runOptions(run, preset: preset, device: device, outputDirectory: output ?? defaultOutput)
            try TrainingSession.train(shards: shards, options: options, resume: resume, stated: statedOptions,
                                      presetGiven: model != nil, heads: heads, projDim: projDim)
        } catch TrainingError.runLocked(let directory, let holder) {
            // Not a failure of the run: it goes on in another process. The sweep says so itself.
            if sweepParent == nil {
                FileHandle.standardError.write(Data("train: error: \(TrainingError.runLocked(directory: directory, holder: holder))\n".utf8))
            }
            throw ExitCode(SweepRunner.runningElsewhereStatus)
        } catch {
            FileHandle.standardError.write(Data("train: error: \(error)\n".utf8))
            throw ExitCode.failure
        }
    }
}
