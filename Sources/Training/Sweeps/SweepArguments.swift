import Durability
import Foundation

/// The cluster job files a sweep writes (`--emit`).
public enum SweepArguments {
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
