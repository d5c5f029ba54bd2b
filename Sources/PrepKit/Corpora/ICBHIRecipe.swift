import FeatureStore
import Foundation
import ICBHI
import Manifests

/// The ICBHI 2017 recipe's feature side: cycles.csv rows as feature items. (Its ingest is
/// `IngestPipeline`, its knowledge the `ICBHI` module.)
enum ICBHIRecipe {
    static let splitOrder = Split.allCases.map(\.rawValue)

    static func featureSource(ingest: IngestState, audio: CycleAudioStore, jobs: Int) throws -> FeatureSource {
        let manifests = ManifestStore(directory: ingest.manifestDirectory)
        // Two reads before any shard, overlapped when `jobs` > 1: cycles.csv (digest and parse) on
        // one thread, and on another the check that every recording's cycle audio is what
        // recordings.csv describes. (Ingest publishes cycle audio before its manifests: after a kill
        // or a write failure in between, a recording's audio is newer than the manifests. Never mix
        // the two.) That check opens one HDF5 file per recording, and the HDF5 library serialises
        // its calls: more threads would not make it faster. Errors are thrown in the order of the
        // checks, as if they had run one after the other.
        let cyclesSHA256 = ingest.cyclesSHA256, resampler = ingest.resampler
        let (cyclesRead, audioRead) = runBoth(jobs: jobs, {
            // cycles.csv's rows, nil when its digest is not the ingest's.
            Result { () throws -> [CycleRecord]? in
                guard (try? manifests.cyclesDigest()) == cyclesSHA256 else { return nil }
                return try manifests.readCycles()
            }
        }, {
            // The first recording whose cycle audio is not what recordings.csv describes.
            Result { try manifests.readRecordings().first { !audio.holdsAudio(of: $0, resampler: resampler) } }
        })
        guard let cycles = try cyclesRead.get() else {
            throw PrepError.input("\(manifests.cyclesPath) changed since the last `prep ingest` (or is missing): rerun ingest")
        }
        if let stale = try audioRead.get() {
            throw PrepError.input("\(audio.path(for: stale.stem.name)) is not the cycle audio \(manifests.recordingsPath) describes (an interrupted `prep ingest`?): rerun `prep ingest`")
        }
        let items = cycles.map {
            FeatureItem(row: ShardRow($0), recording: $0.recording.name, index: $0.index, sampleCount: $0.sampleCount)
        }
        return FeatureSource(corpus: .icbhi, items: items, manifestPath: manifests.cyclesPath)
    }
}
