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
}
