import AudioDSP
import Foundation

/// Everything that shapes `prep ingest`'s outputs, plus how to run it.
public struct IngestOptions: Sendable {
    public var datasetDirectory: String
    /// Root of the cache (cycle audio goes to `<cache>/audio16k/<resampler>/`).
    public var cacheDirectory: String = "cache"
    /// Where `recordings.csv` and `cycles.csv` go.
    public var manifestDirectory: String = "manifests"
    /// The vendored ICBHI metadata (split, folds, demographics, diagnoses, old names).
    public var metadataDirectory: String = "manifests/icbhi"
    public var resampler: ResamplerKind = .default
    public var jobs: Int = ProcessInfo.processInfo.activeProcessorCount
    public var strict = false
    /// Seconds to wait for another run holding the cache lock (0: refuse at once).
    public var lockTimeout: Double = 0

    public init(datasetDirectory: String) {
        self.datasetDirectory = datasetDirectory
    }

    /// Every rule on these options, in one place: `prep ingest` checks them before it starts.
    ///
    /// - Throws: `PrepError.invalidOptions`, listing every problem.
    public func validate() throws(PrepError) {
        let problems = Self.problems(jobs: jobs, lockTimeout: lockTimeout)
        if !problems.isEmpty { throw .invalidOptions(problems) }
    }

    /// The rules `prep ingest` and `prep features` share: at least one thread, a wait that is
    /// a finite, non-negative number of seconds.
    static func problems(jobs: Int, lockTimeout: Double) -> [String] {
        var problems: [String] = []
        if jobs < 1 { problems.append("--jobs must be at least 1, got \(jobs)") }
        if !(lockTimeout >= 0 && lockTimeout.isFinite) {
            problems.append("--wait must be a finite number of seconds >= 0, got \(lockTimeout)")
        }
        return problems
    }
}
