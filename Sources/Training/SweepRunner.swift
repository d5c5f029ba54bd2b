import Foundation

/// Runs a sweep on this machine: each unfinished run as a child process of the same `train`
/// command with `--sweep-index i` (the command a Slurm task or Kubernetes pod runs), at most
/// `parallel` at once, cores split between them. Finished runs (`result.json`) are skipped
/// untouched; interrupted ones (`last.pth`) resume. A run's own lock keeps two processes from
/// ever working on one run directory.
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
    /// CUDA runs: one visible device per parallel slot (`CUDA_VISIBLE_DEVICES`).
    public var cudaDevicesPerSlot: Bool
    public var report: (String) -> Void = writeLine

    public init(plan: SweepPlan, outputDirectory: String, executable: String, arguments: [String], parallel: Int,
                threadsPerRun: Int, cudaDevicesPerSlot: Bool) {
        self.plan = plan
        self.outputDirectory = outputDirectory
        self.executable = executable
        self.arguments = arguments
        self.parallel = max(1, parallel)
        self.threadsPerRun = max(1, threadsPerRun)
        self.cudaDevicesPerSlot = cudaDevicesPerSlot
    }

    /// Directory of sweep run `run`.
    public func directory(of run: SweepRun) -> String {
        (outputDirectory as NSString).appendingPathComponent(run.relativeDirectory)
    }

    /// Runs every unfinished run; throws naming the runs that failed (the others still run).
    public func run() throws(TrainingError) {
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
        var failures: [String] = []
        var active: [(slot: Int, index: Int, process: Process)] = []
        var freeSlots = Array((0..<parallel).reversed())
        var queue = pending[...]
        while !queue.isEmpty || !active.isEmpty {
            while let slot = freeSlots.last, let index = queue.first {
                freeSlots.removeLast()
                queue = queue.dropFirst()
                do {
                    active.append((slot, index, try start(index: index, slot: slot)))
                } catch {
                    failures.append("\(runs[index].relativeDirectory) (cannot start: \(error))")
                    freeSlots.append(slot)
                }
            }
            guard !active.isEmpty else { break }
            // Poll: Process offers no portable "wait for any child".
            usleep(100_000)
            for (k, item) in active.enumerated().reversed() where !item.process.isRunning {
                let name = runs[item.index].relativeDirectory
                if item.process.terminationReason == .exit && item.process.terminationStatus == 0 {
                    report("[\(item.index)] \(name): done")
                } else {
                    let log = (directory(of: runs[item.index]) as NSString).appendingPathComponent("train.log")
                    failures.append("\(name) (exit \(item.process.terminationStatus); see \(log))")
                    report("[\(item.index)] \(name): FAILED, see \(log)")
                }
                freeSlots.append(item.slot)
                active.remove(at: k)
            }
        }
        if !failures.isEmpty {
            throw .invalidOption("\(failures.count) of \(pending.count) runs failed: \(failures.joined(separator: "; "))")
        }
    }

    private func start(index: Int, slot: Int) throws -> Process {
        let run = plan.runs[index]
        let dir = directory(of: run)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let logPath = (dir as NSString).appendingPathComponent("train.log")
        if !FileManager.default.fileExists(atPath: logPath) {
            _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        }
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        try log.seekToEnd()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments + ["--threads", String(threadsPerRun), "--sweep-index", String(index)]
        process.standardOutput = log
        process.standardError = log
        if cudaDevicesPerSlot {
            var environment = ProcessInfo.processInfo.environment
            environment["CUDA_VISIBLE_DEVICES"] = String(slot)
            process.environment = environment
        }
        report("[\(index)] \(run.relativeDirectory): started (log \(logPath))")
        try process.run()
        try? log.close()
        return process
    }
}
