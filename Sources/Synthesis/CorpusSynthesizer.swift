import AudioDSP
import Foundation
import ICBHI
#if canImport(Glibc)
import Glibc
#endif

/// What to synthesise and where.
public struct SynthesisOptions: Sendable {
    /// Where the corpus goes: `<stem>.wav`, `<stem>.txt`, `README.txt`.
    public var outputDirectory: String
    /// The vendored ICBHI metadata (`official_split.txt`, ...); annotations are read from its
    /// `annotations/` subdirectory.
    public var metadataDirectory: String
    /// Take only the first N recordings of ``SubsetOrder`` (nil: all).
    public var recordings: Int?
    public var seed: UInt64 = 1
    public var jobs: Int = ProcessInfo.processInfo.activeProcessorCount
    /// Write every recording at this rate instead of its device's (cheap corpora for tests).
    public var sampleRateOverride: Int?
    public var model = LungSoundModel()

    public init(outputDirectory: String, metadataDirectory: String) {
        self.outputDirectory = outputDirectory
        self.metadataDirectory = metadataDirectory
    }

    public var annotationsDirectory: String { metadataDirectory + "/annotations" }

    /// The sample rates `sampleRateOverride` may take, Hz.
    public static let overrideRates = 1000...192_000

    /// Every rule on these options, in one place: `prep synth` checks them before it starts.
    ///
    /// - Throws: ``SynthesisError/input(_:)`` listing every problem, one per line.
    public func validate() throws(SynthesisError) {
        var problems: [String] = []
        if jobs < 1 { problems.append("--jobs must be at least 1, got \(jobs)") }
        if let recordings, recordings < 1 { problems.append("--recordings must be at least 1, got \(recordings)") }
        if let rate = sampleRateOverride, !Self.overrideRates.contains(rate) {
            problems.append("--sample-rate-override must be between \(Self.overrideRates.lowerBound) and \(Self.overrideRates.upperBound) Hz, got \(rate)")
        }
        if !problems.isEmpty { throw .input(problems.joined(separator: "\n")) }
    }
}

/// What a run wrote.
public struct SynthesisReport: Sendable {
    public let outputDirectory: String
    public let recordings: Int
    /// Cycles per class (normal, crackle, wheeze, both).
    public let cyclesByClass: [Int]
    public let audioSeconds: Double
    public let elapsedSeconds: Double
    /// Stale synthetic files of an earlier run (stems not in this run) that were removed.
    public let removedStaleFiles: Int

    public var cycles: Int { cyclesByClass.reduce(0, +) }

    public func summary() -> String {
        let classes = zip(CycleLabel.allCases, cyclesByClass).map { "\($1) \($0.name)" }.joined(separator: ", ")
        var line = "synthesised \(recordings) recordings, \(cycles) cycles (\(classes)), "
            + String(format: "%.2f h of SYNTHETIC audio in %.1f s -> %@", audioSeconds / 3600, elapsedSeconds, outputDirectory)
        if removedStaleFiles > 0 { line += " (removed \(removedStaleFiles) stale files of an earlier run)" }
        return line
    }
}

/// Writes an ICBHI-shaped synthetic corpus: the real stems and annotations vendored in
/// `manifests/icbhi/annotations`, with audio rendered by ``LungSoundModel``.
///
/// Deterministic: recording `stem` is rendered from its own generator seeded with
/// (seed, stem), so the files are byte-identical for any `jobs`. Every file is written to a
/// hidden temporary name and renamed into place, so an interrupted run never leaves a partial
/// `.wav` or `.txt` that ingest would take.
public struct CorpusSynthesizer: Sendable {
    /// First line of the README.txt that marks a directory as `prep synth` output.
    public static let readmeMarker = "SYNTHETIC ICBHI-SHAPED CORPUS - NOT THE ICBHI 2017 RECORDINGS"

    public let options: SynthesisOptions

    public init(options: SynthesisOptions) {
        self.options = options
    }

    /// Every vendored recording, in ``SubsetOrder``, cut to `options.recordings`.
    public func plan() throws(SynthesisError) -> [RecordingPlan] {
        let metadata: DatasetMetadata
        do {
            metadata = try DatasetMetadata(directory: URL(fileURLWithPath: options.metadataDirectory))
        } catch {
            throw .input("cannot read the ICBHI metadata in \(options.metadataDirectory): \(error)")
        }
        let directory = options.annotationsDirectory
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".txt") }
        } catch {
            throw .input("\(directory): cannot list the vendored annotations (\(error.localizedDescription))")
        }
        var plans: [RecordingPlan] = []
        for name in names.sorted() {
            let path = directory + "/" + name
            let stem: RecordingStem
            do {
                stem = try RecordingStem(parsing: String(name.dropLast(4)))
            } catch {
                throw .input("\(path): \(error)")
            }
            guard let data = FileManager.default.contents(atPath: path) else {
                throw .input("\(path): cannot read")
            }
            let parsed = AnnotationParser.parse(data, file: path)
            if let problem = parsed.problems.first(where: { $0.severity == .skipped }) {
                throw .input("\(problem)")
            }
            plans.append(RecordingPlan(stem: stem, annotation: data, cycles: parsed.cycles, split: metadata.split(of: stem),
                                       sampleRateOverride: options.sampleRateOverride))
        }
        guard !plans.isEmpty else { throw .input("\(directory): no annotation files") }
        let ordered = SubsetOrder.order(plans)
        return options.recordings.map { Array(ordered.prefix($0)) } ?? ordered
    }

    /// The seed of one recording's generator.
    public static func recordingSeed(corpusSeed: UInt64, stem: RecordingStem) -> UInt64 {
        recordingSeed(corpusSeed: corpusSeed, stem: stem.name)
    }

    /// The seed of the generator of the recording named `stem` (any corpus).
    static func recordingSeed(corpusSeed: UInt64, stem: String) -> UInt64 {
        var mix = SplitMix64(seed: corpusSeed ^ StableHash.fnv1a(stem))
        return mix.next()
    }

    /// Renders one recording's audio.
    public func render(_ plan: RecordingPlan) -> [Float] {
        options.model.render(cycles: plan.cycles, sampleRate: plan.sampleRate, frames: plan.frames,
                             seed: Self.recordingSeed(corpusSeed: options.seed, stem: plan.stem))
    }

    /// Writes the corpus; `progress(done, total)` is called from worker threads after each recording.
    public func run(progress: @escaping @Sendable (Int, Int) -> Void = { _, _ in }) throws(SynthesisError) -> SynthesisReport {
        let started = Date()
        try options.validate()
        let plans = try plan()
        let output = options.outputDirectory
        let removed = try prepareDirectory(output, keeping: Set(plans.map(\.stem.name)))
        try SynthesisFile.writeAtomically(Data(readme(plans).utf8), to: output + "/README.txt")

        let failures = FailureSlots(count: plans.count)
        let counter = Counter()
        let synthesizer = self
        DispatchQueue.concurrentPerform(iterations: max(1, min(options.jobs, plans.count))) { _ in
            while let index = counter.take(below: plans.count), !failures.any {
                let plan = plans[index]
                do {
                    let base = output + "/" + plan.stem.name
                    let samples = synthesizer.render(plan)
                    let temporary = output + "/." + plan.stem.name + ".wav.partial"
                    do throws(AudioEncoder.EncodingError) {
                        try AudioEncoder.writeWAV(samples, sampleRate: plan.sampleRate, bitDepth: plan.bitDepth, to: temporary)
                    } catch {
                        unlink(temporary)
                        throw SynthesisError.write(path: base + ".wav", reason: error.message)
                    }
                    try SynthesisFile.rename(temporary, to: base + ".wav")
                    try SynthesisFile.writeAtomically(plan.annotation, to: base + ".txt")
                } catch let error as SynthesisError {
                    failures.store(error, at: index)
                } catch {
                    failures.store(.write(path: output, reason: "\(error)"), at: index)
                }
                progress(counter.finish(), plans.count)
            }
        }
        if let failure = failures.first { throw failure }

        var byClass = [0, 0, 0, 0]
        for plan in plans { for cycle in plan.cycles { byClass[cycle.label.rawValue] += 1 } }
        return SynthesisReport(outputDirectory: output, recordings: plans.count, cyclesByClass: byClass,
                               audioSeconds: plans.reduce(0) { $0 + $1.duration },
                               elapsedSeconds: Date().timeIntervalSince(started), removedStaleFiles: removed)
    }

    // MARK: - Files

    /// Creates the directory, or checks that an existing non-empty one is an earlier `prep synth`
    /// output; then removes its leftover `.partial` files and the recordings of stems not in this
    /// run (so that ingest sees exactly this run's corpus). Returns how many stale files went.
    private func prepareDirectory(_ path: String, keeping stems: Set<String>) throws(SynthesisError) -> Int {
        let manager = FileManager.default
        do {
            try manager.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw .write(path: path, reason: error.localizedDescription)
        }
        guard let names = try? manager.contentsOfDirectory(atPath: path) else {
            throw .write(path: path, reason: "cannot list directory")
        }
        guard !names.isEmpty else { return 0 }
        let readme = (try? String(contentsOfFile: path + "/README.txt", encoding: .utf8)) ?? ""
        guard readme.hasPrefix(Self.readmeMarker) else {
            throw .notSyntheticDirectory(path: path, example: names.sorted().first!)
        }
        var removed = 0
        for name in names {
            let isPartial = name.hasPrefix(".") && name.hasSuffix(".partial")
            let stem = name.hasSuffix(".wav") || name.hasSuffix(".txt") ? String(name.dropLast(4)) : nil
            let isStale = stem.map { (try? RecordingStem(parsing: $0)) != nil && !stems.contains($0) } ?? false
            guard isPartial || isStale else { continue }
            do {
                try manager.removeItem(atPath: path + "/" + name)
            } catch {
                throw .write(path: path + "/" + name, reason: "cannot remove: \(error.localizedDescription)")
            }
            if isStale { removed += 1 }
        }
        return removed
    }

    private func readme(_ plans: [RecordingPlan]) -> String {
        let subset = options.recordings.map { "the first \($0) recordings of the stratified order" } ?? "all vendored recordings"
        let rate = options.sampleRateOverride.map { "every recording at \($0) Hz (--sample-rate-override)" }
            ?? "Litt3200 at 4 kHz, the other devices at 44.1 kHz"
        return """
        \(Self.readmeMarker)

        Every .wav file in this directory is SYNTHETIC audio made by `prep synth`. It is not, and
        is not derived from, the licensed ICBHI 2017 Respiratory Sound Database recordings, and
        no result obtained on it says anything about real lung sounds.

        What is real: the file names (stems) and the annotation files (.txt), copied verbatim
        from the ICBHI annotations vendored in the repository (manifests/icbhi/annotations), so
        cycle timings, labels, splits and counts are those of ICBHI.

        What is synthetic: the audio. Normal cycles: band-limited breath noise under a breathing
        envelope; crackles: short damped transients; wheezes: sustained tonal partials of
        100-1000 Hz; both: both (see Sources/Synthesis/LungSoundModel.swift).
        Format: \(rate); 16, 24 or 32-bit PCM by a fixed hash of the stem.

        Recordings: \(plans.count) (\(subset)); seed: \(options.seed).
        The same seed gives byte-identical files. To use the real database instead:
        prep ingest /path/to/ICBHI_final_database

        """
    }
}

/// Atomic file writes of the synthesizers: a `.NAME.partial` sibling, renamed over NAME.
enum SynthesisFile {
    /// The temporary sibling of `path`: `.NAME.partial` in the same directory.
    static func partialPath(_ path: String) -> String {
        let url = URL(fileURLWithPath: path)
        return url.deletingLastPathComponent().appendingPathComponent("." + url.lastPathComponent + ".partial").path
    }

    /// Creates the directory that holds `path` (and its parents).
    static func makeDirectory(containing path: String) throws(SynthesisError) {
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        do { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) } catch {
            throw .write(path: directory, reason: error.localizedDescription)
        }
    }

    /// Writes `data` to the partial sibling of `path`, then renames it over `path`.
    static func writeAtomically(_ data: Data, to path: String) throws(SynthesisError) {
        let temporary = partialPath(path)
        do {
            try data.write(to: URL(fileURLWithPath: temporary))
        } catch {
            unlink(temporary)
            throw .write(path: path, reason: error.localizedDescription)
        }
        try rename(temporary, to: path)
    }

    /// rename(2): atomic replacement of `destination`.
    static func rename(_ source: String, to destination: String) throws(SynthesisError) {
        guard Glibc.rename(source, destination) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(source)
            throw .write(path: destination, reason: reason)
        }
    }
}

/// The next recording to render, and how many are done.
final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var next = 0
    private var done = 0

    func take(below count: Int) -> Int? {
        lock.withLock {
            guard next < count else { return nil }
            defer { next += 1 }
            return next
        }
    }

    func finish() -> Int { lock.withLock { done += 1; return done } }
}

/// Errors by recording index; the one of the lowest index is reported.
private final class FailureSlots: @unchecked Sendable {
    private let lock = NSLock()
    private var errors: [Int: SynthesisError] = [:]

    init(count: Int) {}

    var any: Bool { lock.withLock { !errors.isEmpty } }

    func store(_ error: SynthesisError, at index: Int) { lock.withLock { errors[index] = error } }

    var first: SynthesisError? { lock.withLock { errors.keys.min().map { errors[$0]! } } }
}
