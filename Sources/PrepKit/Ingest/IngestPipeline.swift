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
    struct RecordingOutcome: Sendable {
        var record: RecordingRecord?
        var cycles: [CycleRecord] = []
        var problems: [Problem] = []
        var reused = false
        var stagedAudio: String?        // --strict: temp file to publish once the whole run is clean
        var writeFailure: String?       // the cache could not be written: the run fails
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

        try AtomicFile.makeDirectory(options.cacheDirectory)
        let lock = try CacheLock(path: options.cacheDirectory + "/.lock", purpose: "prep ingest", timeout: options.lockTimeout) {
            console.warn("waiting for another run holding \(options.cacheDirectory)/.lock ...")
        }
        defer { withExtendedLifetime(lock) {} }

        let store = CycleAudioStore(cacheDirectory: options.cacheDirectory, resampler: options.resampler.rawValue)
        try AtomicFile.makeDirectory(store.directory)
        AtomicFile.sweepPartials(in: store.directory)
        // Manifests and ingest.json are replaced atomically too: a run killed while writing them
        // leaves its temp files there.
        AtomicFile.sweepPartials(in: options.cacheDirectory)
        AtomicFile.sweepPartials(in: options.manifestDirectory)
        let manifests = ManifestStore(directory: options.manifestDirectory)
        let previous = Dictionary((try? manifests.readRecordings())?.map { ($0.stem, $0) } ?? [], uniquingKeysWith: { a, _ in a })

        if options.strict, discoveryProblems.contains(where: Self.failsStrictRun) {
            report(problems: discoveryProblems)
            throw PrepError.strict(problems: discoveryProblems.filter(Self.failsStrictRun).count)
        }

        let total = recordings.count
        let progress = ProgressCounter()
        let publisher = DurablePublisher()
        let outcomes = runInParallel(count: total, jobs: options.jobs) { [options, console] index in
            let outcome = RecordingWork(options: options, store: store, metadata: metadata,
                                        previous: previous[recordings[index].stem], publisher: publisher).run(recordings[index])
            console.progress("ingest", done: progress.increment(), total: total, detail: recordings[index].stem.name)
            return outcome
        }
        console.finishProgress()

        if let failure = outcomes.lazy.compactMap(\.writeFailure).first {
            for staged in outcomes.compactMap(\.stagedAudio) { unlink(staged) }
            try? publisher.finish()
            throw PrepError.output(failure + "; manifests left as they were")
        }

        let problems = discoveryProblems + outcomes.flatMap(\.problems)
        let failing = problems.filter(Self.failsStrictRun)
        if options.strict, !failing.isEmpty {
            for staged in outcomes.compactMap(\.stagedAudio) { unlink(staged) }
            report(problems: problems)
            throw PrepError.strict(problems: failing.count)
        }
        for outcome in outcomes {
            if let staged = outcome.stagedAudio, let record = outcome.record {
                publisher.publish(staged, as: store.path(for: record.stem.name))
            }
        }
        try publisher.finish()

        let records = outcomes.compactMap(\.record)
        let cycles = outcomes.flatMap(\.cycles)
        guard !cycles.isEmpty else {
            report(problems: problems)
            throw PrepError.nothingValid("\(options.datasetDirectory): no valid breathing cycle found (\(problems.count) problems)")
        }
        let encoded = ManifestStore.encode(recordings: records, cycles: cycles)
        let unchanged = manifests.exists
            && (try? String(contentsOfFile: manifests.recordingsPath, encoding: .utf8)) == encoded.recordings
            && (try? String(contentsOfFile: manifests.cyclesPath, encoding: .utf8)) == encoded.cycles
        if !unchanged {
            try manifests.write(recordings: encoded.recordings, cycles: encoded.cycles)
        }
        try manifests.writeProblems(problems.map {
            ProblemRecord(severity: $0.severity.rawValue, kind: $0.kind.rawValue, file: $0.file, line: $0.line, reason: $0.reason)
        })
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

    private func report(problems: [Problem]) {
        for problem in problems { console.warn("\(problem.severity.rawValue): \(problem)") }
    }
}

/// Thread-safe counter for progress lines.
final class ProgressCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    func increment() -> Int { lock.withLock { value += 1; return value } }
}
