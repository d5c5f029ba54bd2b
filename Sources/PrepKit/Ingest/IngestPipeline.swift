import AudioDSP
import Durability
import FeatureStore
import Foundation
import ICBHI
import Manifests

/// `prep ingest`: ICBHI recordings -> labelled 16 kHz breathing cycles (REFERENCE.md steps 1-4).
///
/// Per recording, on `jobs` threads: hash the inputs, parse the annotation, decode, resample
/// to 16 kHz, fade the whole recording, slice the cycles and write them to the cycle audio
/// store. A recording whose inputs and options are unchanged since the last run is reused
/// without decoding. Manifests are written last, atomically, in stem order.
public struct IngestPipeline {
    public let options: IngestOptions
    public let console: Console

    public init(options: IngestOptions, console: Console) {
        self.options = options
        self.console = console
    }

    /// The outcome of one recording.
    struct RecordingOutcome: StagedRecordingOutcome {
        var record: RecordingRecord?
        var cycles: [CycleRecord] = []
        var problems: [Problem] = []
        var reused = false
        var stagedAudio: String?        // --strict: temp file to publish once the whole run is clean
        var writeFailure: String?       // the cache could not be written: the run fails
        var keptStem: String? { record?.stem.name }
    }

    public func run() throws -> IngestReport {
        let started = Date()
        try options.validate()
        let metadata: DatasetMetadata
        do {
            metadata = try DatasetMetadata(directory: URL(fileURLWithPath: options.metadataDirectory))
        } catch {
            throw PrepError.input("ICBHI metadata: \(error)")
        }
        let (recordings, discoveryProblems) = try CorpusDiscovery.scan(directory: options.datasetDirectory, metadata: metadata)
        let session = try IngestSession(options: options, console: console, discoveryProblems: discoveryProblems)
        defer { withExtendedLifetime(session) {} }   // the cache stays locked until the manifests are written
        let store = session.store, publisher = session.publisher
        let manifests = ManifestStore(directory: options.manifestDirectory)
        let previous = Dictionary((try? manifests.readRecordings())?.map { ($0.stem, $0) } ?? [], uniquingKeysWith: { a, _ in a })

        let outcomes = session.process(count: recordings.count, name: { recordings[$0].stem.name }) { [options] index in
            RecordingWork(options: options, store: store, metadata: metadata,
                          previous: previous[recordings[index].stem], publisher: publisher).run(recordings[index])
        }
        let problems = try session.commit(outcomes, discoveryProblems: discoveryProblems)

        let records = outcomes.compactMap(\.record)
        let cycles = outcomes.flatMap(\.cycles)
        guard !cycles.isEmpty else {
            session.report(problems)
            throw PrepError.nothingValid("\(options.datasetDirectory): no valid breathing cycle found (\(problems.count) problems)")
        }
        let encoded = ManifestStore.encode(recordings: records, cycles: cycles)
        let unchanged = manifests.exists
            && (try? String(contentsOfFile: manifests.recordingsPath, encoding: .utf8)) == encoded.recordings
            && (try? String(contentsOfFile: manifests.cyclesPath, encoding: .utf8)) == encoded.cycles
        if !unchanged {
            try manifests.write(recordings: encoded.recordings, cycles: encoded.cycles)
        }
        try session.writeProblems(problems)
        let state = IngestState(resampler: options.resampler.rawValue, audioDirectory: store.directory,
                                manifestDirectory: options.manifestDirectory,
                                cyclesSHA256: FileDigest.sha256(of: encoded.cycles))
        try state.write(cacheDirectory: options.cacheDirectory)

        let reused = outcomes.filter(\.reused).count
        return IngestReport(recordings: records, cycles: cycles, problems: problems, reused: reused,
                            processed: records.count - reused, manifestsChanged: !unchanged,
                            seconds: Date().timeIntervalSince(started), options: options)
    }

    /// Whether `--strict` refuses a run with this problem: anything skipped or clamped does,
    /// plain notices (old archive names, extra fields, ...) do not. Decided by kind, never by
    /// the wording of the reason.
    public static func failsStrictRun(_ problem: Problem) -> Bool {
        switch problem.kind {
        case .skippedFile, .skippedCycle, .clampedCycle: true
        case .notice: false
        }
    }
}
