import ArgumentParser
import CProcessControl
import Foundation
import Training

/// `train [fit] --shards ...`: trains one run, or a sweep of runs.
struct Fit: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a run, or a sweep of runs, on a feature set (the default subcommand: `train --shards ...`).",
        discussion: """
            Trains on the feature set's train split and evaluates on its test split after every epoch. \
            Writes <output>/log.jsonl (one JSON object per epoch), <output>/last.pth and <output>/best.pth \
            (best: highest score with Se > 5). --resume continues the run in --output from its last.pth.

            Sweeps: --method, --seed and --test-fold take lists (ce,patchmix_cl; 1-5; 0-4). A sweep runs \
            every combination, each exactly the run the single command would do, in a directory of its own \
            (<output>/<method>/fold-<k>|official/seed-<s>/); each finished run writes result.json. Rerun the same command \
            to skip finished runs and resume interrupted ones. --parallel N runs N at once (cores split \
            between them); --emit slurm|k8s writes a job array / Indexed Job instead, whose tasks run \
            `train ... --sweep-index i`. `train report <dir>...` aggregates the result.json files into \
            results.md and results.json.

            SPRSound feature sets: --task 1-1|1-2|2-1|2-2 trains on the task's rows of the train split \
            and reports every other split (inter_test, intra_test, ...) with the challenge's SE, SP, AS, \
            HS and Score; best: highest mean Score of inter_test and intra_test (docs/sprsound-training.md).
            """)

    @Option(help: "Feature set written by `prep features`: its directory, or a directory holding exactly one (`--shards cache/`).")
    var shards: String?
    @Option(help: "Run directory for checkpoints and log (default: runs/<model>-<method>-s<seed>; a sweep's: runs/<model>-sweep).")
    var output: String?
    @Flag(help: "Continue the run in --output from its last.pth (with that run's options).") var resume = false
    @OptionGroup(title: "Run options") var options: RunOptions
    @OptionGroup(title: "Execution") var execution: ExecutionOptions
    @OptionGroup(title: "Sweeps") var sweep: SweepOptions
    @OptionGroup(visibility: .hidden) var earlier: EarlierSpellings

    /// Command-line structure here; every rule on the options is the library's, checked on the
    /// options of every run the command would do, before anything is written.
    func validate() throws {
        if shards == nil && earlier.inspectCheckpoint == nil { throw ValidationError("--shards is required") }
        try earlier.check()
        if earlier.eval && options.task != nil { throw ValidationError("--eval takes the task from the checkpoint; leave out --task") }
        let execution = self.execution.request
        try usageRule { () throws(TrainingError) in
            let request = options.request
            try request.validate(device: execution.device, amp: execution.amp, resume: resume,
                                 checkpointShape: earlier.eval || earlier.inspectCheckpoint != nil)
            try execution.validate()
            let plan = try request.plan()
            if (earlier.eval || earlier.benchmarkSteps != nil) && sweep.request.isSweep(plan) {
                throw .invalidOption("--eval and --benchmark-steps take one method and seed, not lists")
            }
            try sweep.request.validate(plan, resume: resume)
        }
    }

    func run() throws {
        dieWithSweepParent()
        let execution = self.execution.request
        try Job.perform {
            do {
                let determinism = try Job.configureProcess(execution)
                let environment = CUDAEnvironment.current()
                let request = options.request
                let plan = try request.plan()
                let isSweep = sweep.request.isSweep(plan)
                // Decided once, and said: a requested device is used or refused, never replaced. An
                // emitted job's tasks run on other machines and decide there (with --device as given).
                let selection = sweep.emit == nil ? try Job.selectDevice(execution, determinism: determinism, in: environment, say: nil)
                    : DeviceSelection(device: execution.device ?? "cpu", reason: "as the job's tasks are told")
                if !isSweep {
                    // The benchmark's stdout is its one JSON line.
                    let say: FileHandle = earlier.benchmarkSteps == nil ? .standardOutput : .standardError
                    say.write(Data(Job.describe(selection, determinism: determinism).utf8))
                }
                if earlier.asksForAnotherJob {
                    try runEarlierSpelling(execution, device: selection.device)
                    return
                }
                let shards = try Job.locate(self.shards!)
                let preset = try request.preset()
                if isSweep {
                    try runSweep(plan, request: request, preset: preset, device: selection, determinism: determinism, environment: environment,
                                 shards: shards)
                    return
                }
                let run = plan.runs[0]
                var runOptions = request.options(for: run, preset: preset, device: selection.device, amp: execution.amp, checkpointShape: resume,
                                                 outputDirectory: "")
                runOptions.outputDirectory = output ?? RunRequest.defaultOutput(for: runOptions)
                try TrainingSession.train(shards: shards, options: runOptions, resume: resume, stated: request.statedOptions,
                                          presetGiven: request.model != nil, heads: request.heads, projDim: request.projDim)
            } catch TrainingError.runLocked(let directory, let holder) {
                // Not a failure of the run: it goes on in another process. The sweep says so itself.
                if sweep.sweepParent == nil {
                    FileHandle.standardError.write(Data("train: error: \(TrainingError.runLocked(directory: directory, holder: holder))\n".utf8))
                }
                throw ExitCode(SweepRunner.runningElsewhereStatus)
            }
        }
    }

    /// `train --inspect-checkpoint`, `--eval`, `--benchmark-steps`: the subcommands' jobs.
    func runEarlierSpelling(_ execution: ExecutionRequest, device: String) throws {
        if let path = earlier.inspectCheckpoint {
            try TrainingSession.inspect(checkpoint: path, heads: options.heads, posEmbed: options.posEmbed ?? Inspect.defaultPosEmbed,
                                        device: device)
        } else if earlier.eval {
            try Eval.evaluate(checkpoint: earlier.checkpoint!, shards: try Job.locate(shards!), predictions: earlier.predictions,
                              heads: options.heads, device: device)
        } else if let steps = earlier.benchmarkSteps {
            try Benchmark.measure(steps: steps, shards: shards == Benchmark.random ? Benchmark.random : try Job.locate(shards!),
                                  request: options.request, execution: execution, device: device)
        }
    }

    /// Runs, emits or dispatches the sweep.
    func runSweep(_ plan: SweepPlan, request: RunRequest, preset: ModelPreset, device: DeviceSelection, determinism: String?,
                  environment: CUDAEnvironment, shards: String) throws {
        let sweep = self.sweep.request, execution = self.execution.request
        let root = output ?? request.defaultSweepOutput(preset: preset)
        if let index = sweep.index {
            let run = try plan.run(at: index)
            let directory = (root as NSString).appendingPathComponent(run.relativeDirectory)
            let runOptions = request.options(for: run, preset: preset, device: device.device, amp: execution.amp, outputDirectory: directory)
            // Decided under the run's lock; a local sweep's child writes its train.log itself from then on.
            try TrainingSession.trainSweepRun(shards: shards, options: runOptions, presetGiven: request.model != nil, heads: request.heads,
                                              projDim: request.projDim) { state throws(TrainingError) in
                if sweep.parent != nil && state != .finished { try Self.redirectOutput(to: (directory as NSString).appendingPathComponent("train.log")) }
                if state != .finished { FileHandle.standardOutput.write(Data(Job.describe(device, determinism: determinism).utf8)) }
                if state == .interrupted { writeLine("\(directory): resuming from last.pth") }
            }
            return
        }
        if let emit = sweep.emit {
            try emitJob(emit, sweep: sweep, plan: plan, root: root, device: device.device)
            return
        }
        let parallel = sweep.parallel ?? 1
        // Parallel CUDA runs: each its own device from those visible here, seen as its cuda:0.
        var slotDevices: [String]? = nil, runDevice = device.device
        if device.device.hasPrefix("cuda") && parallel > 1 {
            guard device.device == "cuda" else {
                throw TrainingError.device("--device \(device.device) names one device; --parallel \(parallel) gives each run a device of its own: use --device cuda")
            }
            slotDevices = try DeviceSelection.slotDevices(parallel: parallel, in: environment)
            runDevice = "cuda"
        }
        let slots = slotDevices.map { "; runs in parallel on CUDA_VISIBLE_DEVICES \($0.joined(separator: ", ")), one each" }
        FileHandle.standardOutput.write(Data(Job.describe(device, determinism: determinism, devicesNote: slots ?? "").utf8))
        let cores = ProcessInfo.processInfo.activeProcessorCount
        // The device is decided here, once, and passed to every run explicitly.
        var runner = SweepRunner(plan: plan, outputDirectory: root, executable: Self.executable, arguments: runArguments(request) + ["--device", runDevice],
                                 parallel: parallel, threadsPerRun: execution.threads ?? max(1, cores / parallel),
                                 slotDevices: slotDevices)
        runner.report = writeLine
        let elsewhere = try runner.run()
        if elsewhere.isEmpty {
            writeLine("sweep done: `train report \(root)` tabulates it")
        } else {
            writeLine("sweep: \(elsewhere.count) run(s) running elsewhere (\(elsewhere.joined(separator: ", "))); rerun this command once they have ended to complete the sweep")
        }
    }

    /// `--emit`: the sweep as a cluster job whose tasks run `train ... --sweep-index i`.
    func emitJob(_ emit: ClusterScheduler, sweep: SweepRequest, plan: SweepPlan, root: String, device: String) throws {
        // The tasks run on other machines: they get --device as the user gave it (or none).
        let execution = self.execution.request
        let job = ClusterJob(executable: Self.executable, arguments: runArguments(options.request) + (execution.device.map { ["--device", $0] } ?? []),
                             workingDirectory: FileManager.default.currentDirectoryPath, outputDirectory: root,
                             runs: plan.count, threadsPerTask: execution.threadBudget,
                             gpusPerTask: device.hasPrefix("cuda") ? 1 : 0)
        let path = try SweepArguments.write(job, scheduler: emit, image: sweep.image, volumeClaim: sweep.volumeClaim,
                                            parallelism: sweep.parallel ?? plan.count)
        writeLine("\(plan.count) runs: wrote \(path)")
        switch emit {
        // Quoted: the user pastes this line into a shell.
        case .slurm: writeLine("submit with: sbatch \(ClusterJob.shellQuoted(path))")
        case .k8s: writeLine("submit with: kubectl apply -f \(ClusterJob.shellQuoted(path))")
        }
    }

    /// What each run of the sweep is started with (it adds its own --device, --threads and
    /// --sweep-index): the feature set and output as given, and every stated run option.
    func runArguments(_ request: RunRequest) -> [String] {
        ["--shards", shards!] + (output.map { ["--output", $0] } ?? []) + request.arguments + execution.request.runArguments
    }

    static var executable: String { Bundle.main.executablePath ?? CommandLine.arguments[0] }

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
        guard let parent = sweep.sweepParent else { return }
        switch pc_die_with_parent(parent) {
        case 0: return
        case 1: Foundation.exit(1) // the sweep is gone already: nobody is waiting for this run
        default: FileHandle.standardError.write(Data("train: warning: cannot arm the parent-death signal: \(String(cString: strerror(errno)))\n".utf8))
        }
    }
}
