import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Runs a sweep on this machine: each unfinished run as a child process of the same `train`
/// command with `--sweep-index i` (the command a Slurm task or Kubernetes pod runs), at most
/// `parallel` at once, cores split between them. Finished runs (`result.json`) are skipped
/// untouched; interrupted ones (`last.pth`) resume. A run's own lock keeps two processes from
/// ever working on one run directory; a run locked by another process (another copy of the
/// sweep) is reported as running elsewhere. The children die with this process.
public struct SweepRunner {
    public var plan: SweepPlan
    public var outputDirectory: String
    /// The `train` executable and the sweep's arguments (without `--parallel`, `--emit`,
    /// `--sweep-index` or `--threads`).
    public var executable: String
    public var arguments: [String]
    public var parallel: Int
    /// Threads each run gets: the machine's cores split between the parallel runs.
    public var threadsPerRun: Int
    /// Parallel CUDA runs: slot k's `CUDA_VISIBLE_DEVICES` (nil: the environment as it is).
    public var slotDevices: [String]?
    public var report: (String) -> Void = writeLine

    public init(plan: SweepPlan, outputDirectory: String, executable: String, arguments: [String], parallel: Int,
                threadsPerRun: Int, slotDevices: [String]? = nil) {
        self.plan = plan
        self.outputDirectory = outputDirectory
        self.executable = executable
        self.arguments = arguments
        self.parallel = max(1, parallel)
        self.threadsPerRun = max(1, threadsPerRun)
        precondition(slotDevices.map { $0.count >= parallel } ?? true, "a device for every parallel slot")
        self.slotDevices = slotDevices
    }

    /// Directory of sweep run `run`.
    public func directory(of run: SweepRun) -> String {
        (outputDirectory as NSString).appendingPathComponent(run.relativeDirectory)
    }

    /// Runs every unfinished run; throws naming the runs that failed (the others still run).
    /// Returns the runs found running elsewhere (another process holds their lock): not failures,
    /// and left to that process. It reaps any child of this process (`waitpid(-1)`: blocking, no
    /// polling), so call it where nothing else starts children meanwhile, as the `train` command.
    @discardableResult
    public func run() throws(TrainingError) -> [String] {
        let runs = plan.runs
        var pending: [Int] = []
        for (i, r) in runs.enumerated() {
            switch RunState(directory: directory(of: r)) {
            case .finished: report("[\(i)] \(r.relativeDirectory): finished, left as is")
            case .interrupted: report("[\(i)] \(r.relativeDirectory): interrupted, will resume from last.pth"); pending.append(i)
            case .notStarted: pending.append(i)
            }
        }
        report("sweep: \(runs.count) runs, \(pending.count) to do, \(parallel) at a time, \(threadsPerRun) thread(s) each")
        var failures: [String] = [], elsewhere: [String] = []
        var active: [pid_t: (slot: Int, index: Int)] = [:]
        var freeSlots = Array((0..<parallel).reversed())
        var queue = pending[...]
        while !queue.isEmpty || !active.isEmpty {
            while let slot = freeSlots.last, let index = queue.first {
                freeSlots.removeLast()
                queue = queue.dropFirst()
                do throws(TrainingError) {
                    active[try start(index: index, slot: slot)] = (slot, index)
                } catch {
                    failures.append("\(runs[index].relativeDirectory) (cannot start: \(error))")
                    freeSlots.append(slot)
                }
            }
            guard !active.isEmpty else { break }
            // Any child that ends is one of the runs (see above); others are ignored.
            var status: Int32 = 0
            let pid = waitpid(-1, &status, 0)
            if pid < 0 {
                if errno == EINTR { continue }
                throw .processFailed("waiting for the sweep's runs failed: \(String(cString: strerror(errno)))")
            }
            guard let item = active.removeValue(forKey: pid) else { continue }
            freeSlots.append(item.slot)
            let name = runs[item.index].relativeDirectory
            let log = (directory(of: runs[item.index]) as NSString).appendingPathComponent("train.log")
            let signal = status & 0x7f, code = (status >> 8) & 0xff
            if signal == 0 && code == 0 {
                report("[\(item.index)] \(name): done")
            } else if signal == 0 && code == Self.runningElsewhereStatus {
                let lock = (directory(of: runs[item.index]) as NSString).appendingPathComponent(".lock")
                let holder = (try? String(contentsOfFile: lock, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
                elsewhere.append(name)
                report("[\(item.index)] \(name): running elsewhere (another process holds its lock\(holder.isEmpty ? "" : ": \(holder)")), left to it")
            } else {
                let how = signal == 0 ? "exit \(code)" : "killed by signal \(signal)"
                let see = FileManager.default.fileExists(atPath: log) ? "see \(log)" : "see the error above"
                failures.append("\(name) (\(how); \(see))")
                report("[\(item.index)] \(name): FAILED, \(see)")
            }
        }
        if !failures.isEmpty {
            throw .runsFailed(failures: failures, of: pending.count)
        }
        return elsewhere
    }

    /// The exit status of a run that another process holds the lock of (EX_TEMPFAIL).
    public static let runningElsewhereStatus: Int32 = 75

    /// Starts run `index` as a child in this process's group (a `kill` of the group reaches it),
    /// told this process's pid (`--sweep-parent`) so that it arms a parent-death signal and, once
    /// it holds the run's lock, writes its own `train.log`: a process that does not hold a run's
    /// lock never writes its log. Output before that (an error before the lock) goes to ours.
    private func start(index: Int, slot: Int) throws(TrainingError) -> pid_t {
        let run = plan.runs[index]
        let logPath = (directory(of: run) as NSString).appendingPathComponent("train.log")
        let argv = [executable] + arguments
            + ["--threads", String(threadsPerRun), "--sweep-index", String(index), "--sweep-parent", String(getpid())]
        var environment = ProcessInfo.processInfo.environment
        if let slotDevices { environment["CUDA_VISIBLE_DEVICES"] = slotDevices[slot] }
        report("[\(index)] \(run.relativeDirectory): started (log \(logPath))")
        return try Self.spawn(argv, environment: environment)
    }

    /// posix_spawn without POSIX_SPAWN_SETPGROUP (Foundation's Process gives each child a group
    /// of its own, which `kill -- -PGID` of the sweep misses), default signal mask and dispositions.
    static func spawn(_ argv: [String], environment: [String: String]) throws(TrainingError) -> pid_t {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t(), reset = sigset_t()
        sigemptyset(&none)
        sigemptyset(&reset)
        for s in [SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT] { sigaddset(&reset, s) }
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setsigdefault(&attributes, &reset)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let cArguments = argv.map { strdup($0) } + [nil]
        let cEnvironment = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (cArguments + cEnvironment).forEach { free($0) } }
        var pid = pid_t()
        let rc = posix_spawn(&pid, argv[0], nil, &attributes, cArguments, cEnvironment)
        guard rc == 0 else { throw .processFailed("cannot start \(argv[0]): \(String(cString: strerror(rc)))") }
        return pid
    }
}
