import AudioDSP
import Durability
import FeatureStore
import Foundation
import ICBHI
import Manifests
import SPRSound

/// `prep ingest --corpus sprsound`: SPRSound JSON + WAV -> 16 kHz events and whole recordings.
///
/// Per recording, on `jobs` threads: parse the JSON, decode, resample to 16 kHz, fade the whole
/// recording (as for ICBHI), slice every event, and store the events and the whole recording
/// (the record-level item) in the cycle audio store: entry `k` is event k, entry -1 the
/// recording. Every bad input is a `Problem` with its file and reason; none stops the run.
/// Manifests are written last, atomically: recordings.csv, events.csv, ingest-problems.csv.
public struct SPRSoundIngest {
    public let options: IngestOptions
    public let console: Console

    public init(options: IngestOptions, console: Console) {
        self.options = options
        self.console = console
    }

    /// The cycle-audio entry of a recording's record-level item.
    static let recordEntry = -1

    struct Outcome: StagedRecordingOutcome {
        var recording: SPRSoundRecordingRow?
        var events: [SPRSoundEventRow] = []
        var problems: [Problem] = []
        var stagedAudio: String?
        var writeFailure: String?
        var reused = false
        var keptStem: String? { recording?.stem }
    }

    public func run() throws -> SPRSoundIngestReport {
        let started = Date()
        try options.validate()
        let (sources, discoveryProblems) = try SPRSoundDiscovery.scan(directory: options.datasetDirectory)
        let session = try IngestSession(options: options, console: console, discoveryProblems: discoveryProblems)
        defer { withExtendedLifetime(session) {} }   // the cache stays locked until the manifests are written
        let store = session.store, publisher = session.publisher
        let previousRows = (try? SPRSoundManifest(directory: options.manifestDirectory).readRecordings()) ?? []
        let previous = Dictionary(previousRows.map { ($0.stem, $0) }, uniquingKeysWith: { first, _ in first })
        let outcomes = session.process(count: sources.count, name: { sources[$0].name.stem }) { [options] index in
            Self.ingest(sources[index], options: options, store: store, publisher: publisher,
                        previous: previous[sources[index].name.stem])
        }
        let problems = try session.commit(outcomes, discoveryProblems: discoveryProblems)

        let recordings = outcomes.compactMap(\.recording)
        let events = outcomes.flatMap(\.events)
        guard !recordings.isEmpty else {
            session.report(problems)
            throw PrepError.nothingValid("\(options.datasetDirectory): no usable SPRSound recording found (\(problems.count) problems)")
        }
        let manifest = SPRSoundManifest(directory: options.manifestDirectory)
        let encoded = try SPRSoundManifest.encode(recordings: recordings, events: events)
        let unchanged = (try? String(contentsOfFile: manifest.recordingsPath, encoding: .utf8)) == encoded.recordings
            && (try? String(contentsOfFile: manifest.eventsPath, encoding: .utf8)) == encoded.events
        if !unchanged {
            try AtomicFile.makeDirectory(options.manifestDirectory)
            try AtomicFile.write(Data(encoded.events.utf8), to: manifest.eventsPath)
            try AtomicFile.write(Data(encoded.recordings.utf8), to: manifest.recordingsPath)
        }
        try session.writeProblems(problems)
        var state = IngestState(resampler: options.resampler.rawValue, audioDirectory: store.directory,
                                manifestDirectory: options.manifestDirectory, cyclesSHA256: FileDigest.sha256(of: encoded.events))
        state.format = "sprsound-ingest/1"
        state.corpus = Corpus.sprsound.rawValue
        state.recordingsSHA256 = FileDigest.sha256(of: encoded.recordings)
        try state.write(cacheDirectory: options.cacheDirectory)
        return SPRSoundIngestReport(recordings: recordings, events: events, problems: problems,
                                    reused: outcomes.filter(\.reused).count, manifestsChanged: !unchanged,
                                    seconds: Date().timeIntervalSince(started), options: options)
    }

    /// One recording: parse, decode, resample, fade, slice, stage.
    static func ingest(_ source: SPRSoundSource, options: IngestOptions, store: CycleAudioStore,
                       publisher: DurablePublisher, previous: SPRSoundRecordingRow? = nil) -> Outcome {
        var outcome = Outcome()
        // Real annotation files are a few kB; a huge one is not read into memory.
        let jsonBytes = ((try? FileManager.default.attributesOfItem(atPath: source.jsonPath))?[.size] as? NSNumber)?.intValue ?? 0
        guard jsonBytes <= SPRSoundEventSlicing.maximumAnnotationBytes else {
            outcome.problems.append(Problem(file: source.jsonPath, line: nil,
                                            reason: "\(jsonBytes) bytes, more than an annotation file can be (\(SPRSoundEventSlicing.maximumAnnotationBytes)): not read", kind: .skippedFile))
            return outcome
        }
        let jsonData: Data
        do throws(StoreError) {
            guard let data = try RegularFile.contents(atPath: source.jsonPath) else {
                outcome.problems.append(Problem(file: source.jsonPath, line: nil, reason: "cannot read annotation file", kind: .skippedFile))
                return outcome
            }
            jsonData = data
        } catch {
            outcome.problems.append(Problem(file: source.jsonPath, line: nil, reason: error.reason, kind: .skippedFile))
            return outcome
        }
        let annotation = SPRSoundAnnotation.parse(jsonData)
        outcome.problems = annotation.issues.map { Problem(file: source.jsonPath, line: nil, reason: $0.reason, kind: $0.kind.problemKind) }
        if source.name.patient < 0 {
            outcome.problems.append(Problem(file: source.jsonPath, line: nil, reason: "empty patient id (anonymised): patient -1, no grouping by patient", kind: .notice))
        }
        guard !annotation.unusable else { return outcome }

        let wavAttributes = try? FileManager.default.attributesOfItem(atPath: source.wavPath)
        let wavBytes = (wavAttributes?[.size] as? NSNumber)?.intValue ?? -1
        let wavModified = (wavAttributes?[.modificationDate] as? Date)?.timeIntervalSince1970 ?? -1
        let jsonSHA256 = FileDigest.sha256(of: jsonData)
        let jsonRelative = relative(source.jsonPath, to: options.datasetDirectory)
        let wavRelative = relative(source.wavPath, to: options.datasetDirectory)
        // Unchanged since the last run (same files, same size and mtime of the WAV, same JSON, and
        // the stored audio is what that run wrote): reuse it without decoding.
        if let previous, previous.wavBytes == wavBytes, previous.wavModified == wavModified, previous.jsonSHA256 == jsonSHA256,
           previous.json == jsonRelative, previous.wav == wavRelative,
           store.canReuseAudio(of: previous, resampler: options.resampler.rawValue) {
            let sliced = slice(annotation.events, source: source, frames16k: previous.frames16k)
            if sliced.events.count == previous.events {
                var record = previous
                record.split = source.split
                record.release = source.release
                record.recordLabel = annotation.recordLabel
                outcome.recording = record
                outcome.events = sliced.events
                outcome.problems += sliced.problems
                outcome.reused = true
                return outcome
            }
        }
        do {
            try RegularFile.check(source.wavPath)
            let audio = try AudioDecoder.decode(contentsOf: source.wavPath)
            guard audio.frames > 0 else {
                outcome.problems.append(Problem(file: source.wavPath, line: nil, reason: "no audio samples", kind: .skippedFile))
                return outcome
            }
            let wavSHA256 = try FileDigest.sha256(ofFileAt: source.wavPath)
            var faded = try Resampler(kind: options.resampler).resample(audio.samples, from: audio.sampleRate, to: ReferenceAudio.sampleRate)
            try Fade.recording.apply(to: &faded)
            guard !faded.isEmpty else {
                outcome.problems.append(Problem(file: source.wavPath, line: nil, reason: "no audio samples at 16 kHz", kind: .skippedFile))
                return outcome
            }
            let stem = source.name.stem
            let sliced = slice(annotation.events, source: source, frames16k: faded.count)
            outcome.events = sliced.events
            outcome.problems += sliced.problems
            var samples: [Float] = [], offsets: [Int64] = [0], entries: [Int32] = []
            samples.reserveCapacity(sliced.events.reduce(faded.count) { $0 + $1.sliceEnd - $1.sliceBegin })
            for event in sliced.events {
                samples.append(contentsOf: faded[event.sliceBegin..<event.sliceEnd])
                offsets.append(Int64(samples.count))
                entries.append(Int32(event.k))
            }
            samples.append(contentsOf: faded)
            offsets.append(Int64(samples.count))
            entries.append(Int32(recordEntry))
            let record = SPRSoundRecordingRow(
                stem: stem, json: jsonRelative, wav: wavRelative, release: source.release, split: source.split,
                recordLabel: annotation.recordLabel, events: outcome.events.count, sourceRate: audio.sampleRate,
                bitDepth: audio.bitDepth, channels: audio.channels, frames: audio.frames, frames16k: faded.count,
                jsonSHA256: jsonSHA256, wavSHA256: wavSHA256, wavBytes: wavBytes, wavModified: wavModified)
            guard outcome.stageAudio(stem: stem, samples: samples, offsets: offsets, cycleIndices: entries,
                                     provenance: record.provenance(resampler: options.resampler.rawValue),
                                     sourceRate: audio.sampleRate, store: store, publisher: publisher,
                                     strict: options.strict) else { return outcome }
            outcome.recording = record
        } catch {
            outcome.problems.append(Problem(file: source.wavPath, line: nil,
                                            reason: audioFailureReason(error, wavPath: source.wavPath), kind: .skippedFile))
            outcome.recording = nil
            outcome.events = []
        }
        return outcome
    }

    /// The events kept in a recording of `frames16k` samples at 16 kHz, as manifest rows, with the
    /// problems of those that end after it (clamped) or start after it (skipped); per file the
    /// first `SPRSoundAnnotation.listedPerFile` of each are listed, the rest counted.
    static func slice(_ events: [SPRSoundAnnotation.Event], source: SPRSoundSource, frames16k: Int) -> (events: [SPRSoundEventRow], problems: [Problem]) {
        var rows: [SPRSoundEventRow] = [], problems: [Problem] = []
        let seconds = Double(frames16k) / Double(ReferenceAudio.sampleRate)
        var beyond = 0, clamped = 0
        let cap = SPRSoundAnnotation.listedPerFile
        for event in events {
            let at = "event_annotation[\(event.position)] (\(event.type), \(event.start)-\(event.end) s)"
            guard case .kept(let bounds, let wasClamped) = SPRSoundEventSlicing.slice(event, frames: frames16k) else {
                beyond += 1
                if beyond <= cap {
                    problems.append(Problem(file: source.jsonPath, line: nil, reason: "\(at) lies after the audio's end (\(seconds) s): skipped", kind: .skippedCycle))
                }
                continue
            }
            if wasClamped {
                clamped += 1
                if clamped <= cap {
                    problems.append(Problem(file: source.jsonPath, line: nil, reason: "\(at) ends after the audio (\(seconds) s): clamped", kind: .clampedCycle))
                }
            }
            rows.append(SPRSoundEventRow(recording: source.name.stem, k: rows.count, type: event.type, start: event.start, end: event.end,
                                         release: source.release, split: source.split,
                                         sliceBegin: bounds.lowerBound, sliceEnd: bounds.upperBound))
        }
        if beyond > cap {
            problems.append(Problem(file: source.jsonPath, line: nil, reason: "\(beyond - cap) more events after the audio's end skipped (not listed)", kind: .skippedCycle))
        }
        if clamped > cap {
            problems.append(Problem(file: source.jsonPath, line: nil, reason: "\(clamped - cap) more events clamped to the audio (not listed)", kind: .clampedCycle))
        }
        return (rows, problems)
    }

    private static func relative(_ path: String, to root: String) -> String {
        path.hasPrefix(root + "/") ? String(path.dropFirst(root.count + 1)) : path
    }
}

extension SPRSoundIssue.Kind {
    var problemKind: Problem.Kind {
        switch self {
        case .skippedFile: .skippedFile
        case .skippedItem: .skippedCycle
        case .notice: .notice
        }
    }
}

/// What `prep ingest --corpus sprsound` did.
public struct SPRSoundIngestReport: Sendable {
    let recordings: [SPRSoundRecordingRow]
    let events: [SPRSoundEventRow]
    public let problems: [Problem]
    /// Recordings unchanged since the last run, reused without decoding.
    public let reused: Int
    public let manifestsChanged: Bool
    public let seconds: Double
    public let options: IngestOptions

    public var recordingCount: Int { recordings.count }
    public var eventCount: Int { events.count }
    public var skipped: [Problem] { problems.filter { $0.severity == .skipped } }
    public var notices: [Problem] { problems.filter { $0.severity == .notice } }

    public func summary() -> String {
        var lines = ["ingest (SPRSound): \(recordings.count) recordings (\(recordings.count - reused) processed, \(reused) unchanged) -> \(events.count) events + \(recordings.count) record items in \(String(format: "%.2f", seconds)) s [resampler \(options.resampler.rawValue), jobs \(options.jobs)]", ""]
        lines.append(SPRSoundTables.tables(recordings: recordings, events: events))
        if !notices.isEmpty {
            lines += ["", "notices (\(notices.count)):"] + notices.map { "  \($0)" }
        }
        if !skipped.isEmpty {
            lines += ["", "skipped (\(skipped.count)):"] + skipped.map { "  \($0)" }
        }
        lines += ["", "manifests: \(options.manifestDirectory)/recordings.csv, \(options.manifestDirectory)/events.csv; audio: \(options.cacheDirectory)/audio16k/\(options.resampler.rawValue)/"]
        return lines.joined(separator: "\n")
    }
}

/// Events per type and record labels per split, as plain-text tables (ingest's summary, `prep stats`).
enum SPRSoundTables {
    static func tables(recordings: [SPRSoundRecordingRow], events: [SPRSoundEventRow]) -> String {
        let splits = Corpus.ordered(splits: recordings.map(\.split), listed: SPRSoundRecipe.splitOrder)
        func table(_ title: String, _ classes: [String], _ items: [(split: String, label: String)]) -> String {
            var rows = [[title] + splits + ["total"]]
            for label in classes {
                let counts = splits.map { split in items.filter { $0.split == split && $0.label == label }.count }
                rows.append([label] + counts.map(String.init) + [String(counts.reduce(0, +))])
            }
            let totals = splits.map { split in items.filter { $0.split == split }.count }
            rows.append(["total"] + totals.map(String.init) + [String(totals.reduce(0, +))])
            return TextTable.render(rows)
        }
        return table("event type", SPRSoundLabels.eventTypes, events.map { ($0.split, $0.type) }) + "\n\n"
            + table("record label", SPRSoundLabels.recordLabels + ["(none)"], recordings.map { ($0.split, $0.recordLabel ?? "(none)") })
    }
}
