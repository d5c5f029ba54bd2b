import AudioDSP
import Durability
import FeatureStore
import Foundation
import ICBHI
import Manifests

/// What one recording's ingest hands back, whatever the corpus: the problems it found, and the
/// audio it staged but did not publish yet (`--strict`) or could not write at all.
protocol StagedRecordingOutcome: Sendable {
    var problems: [Problem] { get }
    /// `--strict`: the temp file of this recording's audio, published once the whole run is clean.
    var stagedAudio: String? { get set }
    /// The stem the staged audio becomes, when the recording was kept.
    var keptStem: String? { get }
    /// The cache could not be written: the run fails.
    var writeFailure: String? { get set }
}

extension StagedRecordingOutcome {
    /// Stages a recording's 16 kHz cycle audio: under `--strict` it stays staged (`stagedAudio`,
    /// published by `IngestSession.commit` once the whole run is clean), else it is published now.
    /// False, with `writeFailure` set, when the cache could not be written.
    mutating func stageAudio(stem: String, samples: [Float], offsets: [Int64], cycleIndices: [Int32],
                             provenance: CycleAudioStore.Provenance, sourceRate: Int,
                             store: CycleAudioStore, publisher: DurablePublisher, strict: Bool) -> Bool {
        let staged: String
        do {
            staged = try store.stage(stem: stem, samples: samples, offsets: offsets, cycleIndices: cycleIndices,
                                     provenance: provenance, sampleRate: ReferenceAudio.sampleRate, sourceRate: sourceRate)
        } catch {
            // Writing the cache failed (disk full, file-size limit, read-only): not a bad input
            // to skip, but a failure of the whole run, which must leave the manifests alone.
            writeFailure = "cannot write the cycle audio of \(stem): \(error)"
            return false
        }
        if strict {
            stagedAudio = staged
        } else {
            publisher.publish(staged, as: store.path(for: stem))
        }
        return true
    }
}

/// Why a recording's audio could not be read or converted, for a problem that names the file
/// (`wavPath`): the reason says what is wrong, without the path again.
func audioFailureReason(_ error: any Error, wavPath: String) -> String {
    (error as? AudioDecodingError)?.cause ?? String(describing: error).droppingPrefix(wavPath + ": ")
}

/// The frame every corpus's `prep ingest` runs in, around its own per-recording work: the cache
/// locked, the audio store and the manifest directory swept of partial files, the recordings
/// processed on `jobs` threads with progress, and their audio published all or nothing (a write
/// failure or a `--strict` refusal publishes none of it and leaves the manifests as they were).
/// The lock is held as long as the session lives: keep it alive until the manifests are written.
final class IngestSession {
    let options: IngestOptions
    let console: Console
    let store: CycleAudioStore
    let publisher = DurablePublisher()
    private let lock: CacheLock

    /// Locks the cache and sweeps it; under `--strict`, refuses a run whose discovery already
    /// found a problem that fails it, before any recording is decoded.
    init(options: IngestOptions, console: Console, discoveryProblems: [Problem]) throws {
        self.options = options
        self.console = console
        try AtomicFile.makeDirectory(options.cacheDirectory)
        lock = try CacheLock(path: options.cacheDirectory + "/.lock", purpose: "prep ingest", timeout: options.lockTimeout) {
            console.warn("waiting for another run holding \(options.cacheDirectory)/.lock ...")
        }
        store = CycleAudioStore(cacheDirectory: options.cacheDirectory, resampler: options.resampler.rawValue)
        try AtomicFile.makeDirectory(store.directory)
        AtomicFile.sweepPartials(in: store.directory)
        // Manifests and ingest.json are replaced atomically too: a run killed while writing them
        // leaves its temp files there.
        AtomicFile.sweepPartials(in: options.cacheDirectory)
        AtomicFile.sweepPartials(in: options.manifestDirectory)
        let failing = discoveryProblems.filter(IngestPipeline.failsStrictRun)
        if options.strict, !failing.isEmpty {
            Self.report(discoveryProblems, on: console)
            throw PrepError.strict(problems: failing.count)
        }
    }

    /// Runs `work` for recordings `0..<count` on `options.jobs` threads, in order of index in the
    /// result, with a progress line naming each recording as it finishes.
    func process<Outcome: StagedRecordingOutcome>(count: Int, name: @escaping @Sendable (Int) -> String,
                                                  _ work: @escaping @Sendable (Int) -> Outcome) -> [Outcome] {
        let progress = ProgressCounter()
        let outcomes = runInParallel(count: count, jobs: options.jobs) { [console] index in
            let outcome = work(index)
            console.progress("ingest", done: progress.increment(), total: count, detail: name(index))
            return outcome
        }
        console.finishProgress()
        return outcomes
    }

    /// Publishes the audio of a run that may stand, and returns all its problems (discovery's
    /// first). Throws, publishing nothing staged, when a recording could not be written or when
    /// `--strict` finds a problem that fails it.
    func commit<Outcome: StagedRecordingOutcome>(_ outcomes: [Outcome], discoveryProblems: [Problem]) throws -> [Problem] {
        if let failure = outcomes.lazy.compactMap(\.writeFailure).first {
            for staged in outcomes.compactMap(\.stagedAudio) { unlink(staged) }
            try? publisher.finish()
            throw PrepError.output(failure + "; manifests left as they were")
        }
        let problems = discoveryProblems + outcomes.flatMap(\.problems)
        let failing = problems.filter(IngestPipeline.failsStrictRun)
        if options.strict, !failing.isEmpty {
            for staged in outcomes.compactMap(\.stagedAudio) { unlink(staged) }
            report(problems)
            throw PrepError.strict(problems: failing.count)
        }
        for outcome in outcomes {
            if let staged = outcome.stagedAudio, let stem = outcome.keptStem {
                publisher.publish(staged, as: store.path(for: stem))
            }
        }
        try publisher.finish()
        return problems
    }

    /// Writes ingest-problems.csv beside the manifests.
    func writeProblems(_ problems: [Problem]) throws {
        try ManifestStore(directory: options.manifestDirectory).writeProblems(problems.map {
            ProblemRecord(severity: $0.severity.rawValue, kind: $0.kind.rawValue, file: $0.file, line: $0.line, reason: $0.reason)
        })
    }

    /// Every problem on the console, as a run that stops without a report shows them.
    func report(_ problems: [Problem]) {
        Self.report(problems, on: console)
    }

    private static func report(_ problems: [Problem], on console: Console) {
        for problem in problems { console.warn("\(problem.severity.rawValue): \(problem)") }
    }
}

/// Thread-safe counter for progress lines.
final class ProgressCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    func increment() -> Int { lock.withLock { value += 1; return value } }
}
