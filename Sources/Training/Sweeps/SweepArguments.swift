import Durability
import Foundation

/// The command line a sweep hands to each of its runs.
public enum SweepArguments {
    /// Options that belong to the sweep as a whole, with the number of values each takes: they
    /// are dropped from the arguments of each run (which get their own `--threads`,
    /// `--sweep-index` and `--device`, the one the sweep decided).
    static let sweepOnly: [String: Int] = [
        "--device": 1, "--parallel": 1, "--emit": 1, "--sweep-index": 1, "--sweep-parent": 1, "--threads": 1, "--image": 1, "--volume-claim": 1,
    ]

    /// `arguments` (without the executable) less the sweep-only options, in either
    /// `--name value` or `--name=value` form.
    public static func forRuns(_ arguments: [String]) -> [String] {
        var out: [String] = []
        var i = 0
        while i < arguments.count {
            let a = arguments[i]
            let name = a.split(separator: "=", maxSplits: 1).first.map(String.init) ?? a
            if let values = sweepOnly[name] {
                i += a.contains("=") ? 1 : 1 + values
                continue
            }
            out.append(a)
            i += 1
        }
        return out
    }

    /// Writes the job for `scheduler` into the sweep's output directory (atomically), creating
    /// the Slurm log directory; returns the file's path.
    public static func write(_ job: ClusterJob, scheduler: ClusterScheduler, image: String, volumeClaim: String,
                             parallelism: Int) throws(TrainingError) -> String {
        if scheduler == .slurm { try job.checkSlurmPaths() }
        let (name, text): (String, String) = switch scheduler {
        case .slurm: ("sweep.sbatch", job.slurmScript)
        case .k8s: ("sweep-job.yaml", job.kubernetesManifest(image: image, volumeClaim: volumeClaim, parallelism: parallelism))
        }
        let path = (job.outputDirectory as NSString).appendingPathComponent(name)
        do {
            try FileManager.default.createDirectory(atPath: job.slurmLogDirectory, withIntermediateDirectories: true)
            try AtomicFile.write(Data(text.utf8), to: path)
        } catch { throw .writeFailed("cannot write \(path): \(error)") }
        return path
    }
}
