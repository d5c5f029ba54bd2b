import FeatureStore
import Foundation
import ICBHI
import Manifests

/// The ICBHI 2017 recipe's feature side: cycles.csv rows as feature items. (Its ingest is
/// `IngestPipeline`, its knowledge the `ICBHI` module.)
enum ICBHIRecipe {
    static let splitOrder = Split.allCases.map(\.rawValue)

    /// `prep verify`'s ingest check: cycles.csv still has the SHA-256 ingest.json records, both
    /// manifests parse and agree (cycles per recording), and every recording's cycle audio has
    /// the provenance and cycle count recordings.csv states and its samples' recorded checksum.
    static func verifyIngest(state: IngestState, cacheDirectory: String) -> (findings: [FeatureSetVerifier.Finding], recordings: Int, cycles: Int, uncheckedAudio: Int) {
        typealias Finding = FeatureSetVerifier.Finding
        let statePath = IngestState.path(cacheDirectory: cacheDirectory)
        let manifests = ManifestStore(directory: state.manifestDirectory)
        guard let digest = try? manifests.cyclesDigest() else {
            return ([Finding(file: manifests.cyclesPath, problem: "missing or unreadable")], 0, 0, 0)
        }
        var findings: [Finding] = []
        if digest != state.cyclesSHA256 {
            findings.append(Finding(file: manifests.cyclesPath, problem: "SHA-256 \(digest) differs from \(statePath) (\(state.cyclesSHA256)): corrupted or edited since `prep ingest`"))
        }
        let recordings: [RecordingRecord], cycles: [CycleRecord]
        do {
            recordings = try manifests.readRecordings()
            cycles = try manifests.readCycles()
        } catch {
            return (findings + [FeatureSetVerifier.finding(error, about: manifests.directory)], 0, 0, 0)
        }
        var cyclesByRecording: [String: Int] = [:]
        var unchecked = 0
        for cycle in cycles { cyclesByRecording[cycle.recording.name, default: 0] += 1 }
        let audio = CycleAudioStore(cacheDirectory: cacheDirectory, resampler: state.resampler)
        for record in recordings {
            let stem = record.stem.name
            if cyclesByRecording.removeValue(forKey: stem) != record.cycles {
                findings.append(Finding(file: manifests.recordingsPath, problem: "\(stem): \(record.cycles) cycles, \(manifests.cyclesPath) disagrees"))
            }
            guard audio.holdsAudio(of: record, resampler: state.resampler) else {
                findings.append(Finding(file: audio.path(for: stem), problem: "missing, unreadable, or not the audio the manifests describe"))
                continue
            }
            let unrecorded = FeatureSetVerifier.checkCycleAudio(of: stem, in: audio, findings: &findings) { entries in
                entries.count == record.cycles ? nil : "holds \(entries.count) cycles, the manifest says \(record.cycles)"
            }
            if unrecorded { unchecked += 1 }
        }
        for stem in cyclesByRecording.keys.sorted() {
            findings.append(Finding(file: manifests.cyclesPath, problem: "cycles of \(stem), which \(manifests.recordingsPath) does not list"))
        }
        return (findings, recordings.count, cycles.count, unchecked)
    }

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
            FeatureItem(row: ShardRow($0), index: $0.index, sampleCount: $0.sampleCount)
        }
        return FeatureSource(items: items, manifestPath: manifests.cyclesPath)
    }
}
