import Foundation

/// One run-defining option a command line states: its spelling, its value as command-line
/// arguments (what a sweep hands each of its runs) and what it sets in `TrainingOptions`.
/// Options the command line leaves out are not here: their defaults are `TrainingOptions`'s.
public struct StatedOption: Sendable {
    public let option: String
    public let arguments: [String]
    let apply: @Sendable (inout TrainingOptions) -> Void

    /// `--option value`.
    public init<Value: LosslessStringConvertible & Sendable>(_ option: String, _ value: Value,
                                                             _ apply: @escaping @Sendable (inout TrainingOptions, Value) -> Void) {
        self.option = option
        arguments = [option, value.description]
        self.apply = { apply(&$0, value) }
    }

    /// `--option value` of a named choice (`--negative-pair diff_label`).
    public init<Value: RawRepresentable & Sendable>(_ option: String, _ value: Value,
                                                    _ apply: @escaping @Sendable (inout TrainingOptions, Value) -> Void)
        where Value.RawValue == String {
        self.option = option
        arguments = [option, value.rawValue]
        self.apply = { apply(&$0, value) }
    }

    /// A flag (`--no-spec-augment`).
    public init(flag option: String, _ apply: @escaping @Sendable (inout TrainingOptions) -> Void) {
        self.option = option
        arguments = [option]
        self.apply = apply
    }
}

/// What a `train` command line asks of a run or a sweep of runs, before any default: each run's
/// `TrainingOptions` are the preset's and `TrainingOptions`'s defaults with the stated options
/// applied, and the rules are `TrainingOptions.validate`'s. The command parses; this decides.
public struct RunRequest: Sendable {
    /// The preset without `--model`.
    public static let defaultPreset = ModelPreset.astBase

    /// `--model` (nil: `defaultPreset`).
    public var model: String?
    /// `--method`, `--seed`, `--test-fold` as given: lists sweep (nil: the default's one run).
    public var methods: String?
    public var seeds: String?
    public var testFolds: String?
    /// `--init`: the checkpoint a new run starts from; the model's shape then comes from it.
    public var initCheckpoint: String?
    /// `--heads`: sets a preset's heads; for a model whose shape comes from a file (`--init`,
    /// `--resume`, a checkpoint to evaluate or inspect) it is applied where the file is read.
    public var heads: Int?
    /// `--proj-dim`: the projector's width, also over a shape from `--init` (where the file's
    /// projector of another width is left out).
    public var projDim: Int?
    /// Every other run-defining option the command line states.
    public var stated: [StatedOption]

    public init(model: String? = nil, methods: String? = nil, seeds: String? = nil, testFolds: String? = nil,
                initCheckpoint: String? = nil, heads: Int? = nil, projDim: Int? = nil, stated: [StatedOption] = []) {
        self.model = model
        self.methods = methods
        self.seeds = seeds
        self.testFolds = testFolds
        self.initCheckpoint = initCheckpoint
        self.heads = heads
        self.projDim = projDim
        self.stated = stated
    }

    public var presetName: String { model ?? Self.defaultPreset.name }

    public func preset() throws(TrainingError) -> ModelPreset { try ModelPreset.resolve(presetName) }

    /// The runs the lists expand to (one run without lists).
    public func plan() throws(TrainingError) -> SweepPlan {
        let defaults = TrainingOptions.defaults
        return try SweepPlan.parse(methods: methods ?? defaults.method.rawValue, testFolds: testFolds,
                                   seeds: seeds ?? String(defaults.seed))
    }

    /// The options of one run: the preset's and the defaults, the stated options, the run's swept
    /// values, and how it executes (mixed precision by default on CUDA only). `checkpointShape`:
    /// the model's shape comes from a checkpoint other than `--init`'s (`--resume`, evaluation).
    public func options(for run: SweepRun, preset: ModelPreset, device: String, amp: Bool?, checkpointShape: Bool = false,
                        outputDirectory: String) -> TrainingOptions {
        var options = TrainingOptions(preset: preset, outputDirectory: outputDirectory)
        for option in stated { option.apply(&options) }
        options.method = run.method
        options.seed = run.seed
        options.testFold = run.testFold
        options.initCheckpoint = initCheckpoint
        if let projDim { options.model.projDim = projDim }
        options.device = device
        options.amp = amp ?? device.hasPrefix("cuda")
        if let heads, !checkpointShape && initCheckpoint == nil { options.model.heads = heads }
        return options
    }

    /// Every rule on the options of every run this request would do, before anything is written
    /// (a sweep with one bad run fails whole). `device` nil: decided later, checked as cpu.
    public func validate(device: String?, amp: Bool?, resume: Bool = false, checkpointShape: Bool = false) throws(TrainingError) {
        if resume && initCheckpoint != nil { throw .invalidOption("--resume continues a run; --init starts a new one") }
        let plan = try plan()
        let preset = try preset()
        if let heads { try ModelConfig.validate(heads: heads) }
        for run in plan.runs {
            let options = options(for: run, preset: preset, device: device ?? "cpu", amp: amp, checkpointShape: checkpointShape || resume,
                                  outputDirectory: "")
            if let task = options.task, statedOptions.contains("--classes") {
                throw .invalidOption("--classes is ICBHI's (4 or 2); --task \(task) takes its classes from the feature set")
            }
            try options.validate()
        }
    }

    /// The options this command line states (what `--resume` holds the run's checkpoint to).
    public var statedOptions: Set<String> {
        var names = Set(stated.map(\.option))
        if model != nil { names.insert("--model") }
        if methods != nil { names.insert("--method") }
        if seeds != nil { names.insert("--seed") }
        if testFolds != nil { names.insert("--test-fold") }
        if initCheckpoint != nil { names.insert("--init") }
        return names
    }

    /// The request as command-line arguments: what each run of a sweep is started with.
    public var arguments: [String] {
        var arguments: [String] = []
        if let model { arguments += ["--model", model] }
        if let methods { arguments += ["--method", methods] }
        if let seeds { arguments += ["--seed", seeds] }
        if let testFolds { arguments += ["--test-fold", testFolds] }
        if let initCheckpoint { arguments += ["--init", initCheckpoint] }
        if let heads { arguments += ["--heads", String(heads)] }
        if let projDim { arguments += ["--proj-dim", String(projDim)] }
        return arguments + stated.flatMap(\.arguments)
    }

    /// Where a single run with these options writes without `--output`.
    public static func defaultOutput(for options: TrainingOptions) -> String {
        "runs/\(options.preset)-\(options.method.rawValue)-s\(options.seed)" + (options.testFold.map { "-fold\($0)" } ?? "")
            + (options.task.map { "-task\($0)" } ?? "")
    }

    /// Where a sweep lays out its runs without `--output`.
    public func defaultSweepOutput(preset: ModelPreset) -> String { "runs/\(preset.name)-sweep" }
}

extension TrainingOptions {
    /// The defaults that no preset changes (`--help` shows them): those of the default preset.
    public static var defaults: TrainingOptions { TrainingOptions(preset: RunRequest.defaultPreset, outputDirectory: "") }
}

/// How the runs execute, not what they are: `--device`, `--threads`, `--amp`.
public struct ExecutionRequest: Sendable {
    /// nil: decided by `DeviceSelection` (cuda when libtorch sees one).
    public var device: String?
    /// nil: every core.
    public var threads: Int?
    /// nil: on for cuda, off for cpu.
    public var amp: Bool?
    /// `--deterministic`: a per-process setting (not stored in checkpoints), like the threads.
    public var deterministic: Bool

    public init(device: String? = nil, threads: Int? = nil, amp: Bool? = nil, deterministic: Bool = false) {
        self.device = device
        self.threads = threads
        self.amp = amp
        self.deterministic = deterministic
    }

    public func validate() throws(TrainingError) {
        if let threads, threads < 1 { throw .invalidOption("--threads must be at least 1") }
    }

    /// The thread budget of this process: `--threads`, else every core.
    public var threadBudget: Int { threads ?? ProcessInfo.processInfo.activeProcessorCount }

    /// What each run of a local sweep is told besides the device and threads the sweep decides.
    public var runArguments: [String] {
        (amp.map { [$0 ? "--amp" : "--no-amp"] } ?? []) + (deterministic ? ["--deterministic"] : [])
    }
}
