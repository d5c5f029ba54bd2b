import ArgumentParser
import Training

/// The options that define a run, shared by `fit` and `benchmark`. Each is nil (or off) unless
/// the command line states it: the defaults are `TrainingOptions`'s and the preset's (the help
/// shows them from there), the rules `TrainingOptions.validate`'s. A new option is one
/// declaration here and one `StatedOption` line in `request`.
struct RunOptions: ParsableArguments {
    private static let defaults = TrainingOptions.defaults

    @Option(help: "Model preset: \(ModelPreset.all.map { "\($0.name) (\($0.summary))" }.joined(separator: "; ")). Default \(RunRequest.defaultPreset.name); with --init the recipe of \(RunRequest.defaultPreset.name) and the checkpoint's shape.")
    var model: String?

    @Option(help: "Checkpoint to start from: the AudioSet AST (module.v.*), the paper code's or this trainer's. The model's shape (D, depth, strides) comes from it.")
    var `init`: String?

    @Option(help: "With --init of the AudioSet grid: 'paper' (the paper's init: its swapped input sizes stretch the 12 frequency rows to 79 and keep time columns 44..55) or 'aligned' (each patch its own grid cell). Default \(Self.defaults.posEmbed?.rawValue ?? "paper").")
    var posEmbed: PositionalEmbeddingInit?

    @Option(help: "Attention heads: overrides the preset's; for a model whose shape comes from a checkpoint (--init, --resume, a checkpoint to evaluate) the default is D / 64.")
    var heads: Int?

    @Option(help: "Objective: \(TrainingMethod.summaries); a comma list sweeps them. Default \(Self.defaults.method.rawValue).")
    var method: String?

    @Option(help: "Weight of the contrastive loss (default \(Self.defaults.alpha)).") var alpha: Float?
    @Option(help: "Contrastive temperature (default \(Self.defaults.temperature)).") var temperature: Float?
    @Option(help: "Beta(mix_beta, mix_beta) draws Patch-Mix's lambda (default \(Self.defaults.mixBeta)).") var mixBeta: Double?
    @Option(help: "Contrastive negatives: all or diff_label (default \(Self.defaults.negativePair.rawValue)).") var negativePair: NegativePair?
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
    @Option(help: "Classes: 4 (normal/crackle/wheeze/both) or 2 (normal/abnormal) (default \(Self.defaults.model.numClasses)).") var classes: Int?
    @Option(help: ArgumentHelp("Feature sets with label tasks (SPRSound): the task, 1-1 or 1-2 (per event), 2-1 or 2-2 (per record); its classes come from the feature set. Trains on the train split, tests on every other split (inter_test, intra_test, test2023, ...) each on its own, with the challenge's SE, SP, AS, HS and Score (docs/sprsound-training.md). Required for such sets, refused for ICBHI.", valueName: "name"))
    var task: String?
    @Option(help: "Seed for initialisation, shuffling, SpecAugment and Patch-Mix; a list (1-5, 1,2,3) sweeps them (default \(Self.defaults.seed)).")
    var seed: String?
    @Option(help: ArgumentHelp("Patient-wise test fold (0-4) of patient_list_foldwise.txt, as the paper code's --test_fold: train on the other folds' patients, test on fold k's, regardless of the official split. A list (0-4) sweeps folds. Default: the official split.", valueName: "k"))
    var testFold: String?
    @Flag(help: "Disable SpecAugment (icbhi_ast_sup).") var noSpecAugment = false
    @Flag(help: "Keep each epoch's last incomplete batch (the paper's loader drops it: drop_last=True).") var keepLastBatch = false
    @Flag(help: "Weight the cross-entropy by inverse class frequency.") var classWeightedLoss = false
    @Flag(help: "Sample training cycles with replacement, weighted by inverse class frequency.") var weightedSampler = false

    /// What the command line states, for the library to turn into each run's options.
    var request: RunRequest {
        let stated: [StatedOption?] = [
            posEmbed.map { StatedOption("--pos-embed", $0) { $0.posEmbed = $1 } },
            alpha.map { StatedOption("--alpha", $0) { $0.alpha = $1 } },
            temperature.map { StatedOption("--temperature", $0) { $0.temperature = $1 } },
            mixBeta.map { StatedOption("--mix-beta", $0) { $0.mixBeta = $1 } },
            negativePair.map { StatedOption("--negative-pair", $0) { $0.negativePair = $1 } },
            meta.map { StatedOption("--meta", $0) { $0.meta = $1 } },
            metaFile.map { StatedOption("--meta-file", $0) { $0.metaFile = $1 } },
            targetType.map { StatedOption("--target-type", $0) { $0.targetType = $1 } },
            lr.map { StatedOption("--lr", $0) { $0.learningRate = $1 } },
            weightDecay.map { StatedOption("--weight-decay", $0) { $0.weightDecay = $1 } },
            batchSize.map { StatedOption("--batch-size", $0) { $0.batchSize = $1 } },
            epochs.map { StatedOption("--epochs", $0) { $0.epochs = $1 } },
            maBeta.map { StatedOption("--ma-beta", $0) { $0.maBeta = $1 } },
            classes.map { StatedOption("--classes", $0) { $0.model.numClasses = $1 } },
            task.map { StatedOption("--task", $0) { $0.task = $1 } },
            noSpecAugment ? StatedOption(flag: "--no-spec-augment") { $0.specAugment = false } : nil,
            keepLastBatch ? StatedOption(flag: "--keep-last-batch") { $0.dropLastBatch = false } : nil,
            classWeightedLoss ? StatedOption(flag: "--class-weighted-loss") { $0.classWeightedLoss = true } : nil,
            weightedSampler ? StatedOption(flag: "--weighted-sampler") { $0.weightedSampler = true } : nil,
        ]
        return RunRequest(model: model, methods: method, seeds: seed, testFolds: testFold, initCheckpoint: `init`, heads: heads,
                          projDim: projDim, stated: stated.compactMap { $0 })
    }
}

/// Where a job runs: `--device` and `--threads`.
struct DeviceOptions: ParsableArguments {
    @Option(help: "cpu or cuda (default: cuda when libtorch sees one).") var device: String?
    @Option(help: "CPU threads for the run: bounds libtorch's intra-op pool and OpenBLAS's pool together (default: all cores).") var threads: Int?
    @Flag(help: "Deterministic algorithms: libtorch's deterministic mode, cuDNN deterministic (benchmark off), CUBLAS_WORKSPACE_CONFIG=:4096:8. On a GPU, reruns give the same numbers (slower; an operation without a deterministic kernel stops the run); on the CPU results are the same either way. Passed on to a sweep's runs and emitted jobs. See docs/gpu.md.")
    var deterministic = false

    /// `amp`: the mixed-precision flag of the jobs that train.
    func request(amp: Bool? = nil) -> ExecutionRequest {
        ExecutionRequest(device: device, threads: threads, amp: amp, deterministic: deterministic)
    }
}

/// The options of a job that loads a checkpoint and runs its model without training it
/// (`eval`, `inspect`): the heads of a checkpoint without meta, and where it runs.
struct LoadedModelOptions: ParsableArguments {
    @Option(help: "Attention heads of a checkpoint without meta (default D / 64).") var heads: Int?
    @OptionGroup var device: DeviceOptions

    func validate() throws {
        try usageRule { () throws(TrainingError) in
            if let heads { try ModelConfig.validate(heads: heads) }
            if let device = device.device { try TrainingOptions.validate(device: device) }
            try device.request().validate()
        }
    }
}

/// Where and how the jobs that take training steps run: `--device`, `--threads`, `--amp`.
struct ExecutionOptions: ParsableArguments {
    @OptionGroup var device: DeviceOptions
    @Flag(inversion: .prefixedNo, help: "Mixed precision as the paper trains: autocast (float16 on cuda, bfloat16 on cpu) around the forward passes and losses, dynamic loss scaling with inf/NaN steps skipped (default: on for cuda, off for cpu).")
    var amp: Bool?

    var request: ExecutionRequest { device.request(amp: amp) }
}

/// How a sweep runs its runs.
struct SweepOptions: ParsableArguments {
    @Option(help: "Sweeps: runs at once on this machine (cores split between them; CUDA: one device each).")
    var parallel: Int?
    @Option(help: "Sweeps: write a cluster job instead of running: slurm (sbatch job array) or k8s (Indexed Job).")
    var emit: ClusterScheduler?
    @Option(help: "Sweeps: run only run number i of the sweep (what each cluster task does).")
    var sweepIndex: Int?
    @Option(help: .hidden) var sweepParent: Int32?
    @Option(help: "--emit k8s: container image holding the train binary.") var image: String = SweepRequest.defaultImage
    @Option(help: "--emit k8s: PersistentVolumeClaim mounted at the working directory.") var volumeClaim: String = SweepRequest.defaultVolumeClaim

    var request: SweepRequest {
        SweepRequest(parallel: parallel, emit: emit, index: sweepIndex, parent: sweepParent, image: image, volumeClaim: volumeClaim)
    }
}

/// The spellings of `eval`, `inspect` and `benchmark` from before they were subcommands
/// (`train --eval --checkpoint F --shards S`): hidden, still accepted, forwarded to them.
struct EarlierSpellings: ParsableArguments {
    @Flag(help: .hidden) var eval = false
    @Option(help: .hidden) var checkpoint: String?
    @Option(help: .hidden) var predictions: String?
    @Option(help: .hidden) var inspectCheckpoint: String?
    @Option(help: .hidden) var benchmarkSteps: Int?

    /// Whether these ask for a job other than fitting.
    var asksForAnotherJob: Bool { eval || inspectCheckpoint != nil || benchmarkSteps != nil }

    /// Their command-line rules, with the messages they have always had (called by `Fit`, in its
    /// order; not `validate()`, which the parser would call on its own).
    func check() throws {
        if eval && checkpoint == nil { throw ValidationError("--eval needs --checkpoint") }
        if !eval && checkpoint != nil { throw ValidationError("--checkpoint is only used with --eval") }
        if !eval && predictions != nil { throw ValidationError("--predictions is only used with --eval") }
        if let benchmarkSteps, benchmarkSteps < 1 { throw ValidationError("--benchmark-steps must be at least 1") }
    }
}

/// Runs `body`, turning a library error into a usage error (exit 64, one `Error:` line).
func usageRule(_ body: () throws(TrainingError) -> Void) throws {
    do { try body() } catch { throw ValidationError("\(error)") }
}
