import AudioDSP
import FeatureStore
import Foundation
import ICBHI
import PrepKit
import SPRSound
import Training

/// A trained model and the preprocessing it was trained with, applied to recordings: the
/// annotated cycles of an ICBHI `.txt` beside the WAV (the cycles `prep ingest` keeps), for a
/// model of an SPRSound label task the events (or, record tasks, the recording) of its `.json`,
/// or windows. Features are computed span by span and scored in batches.
public final class Predictor {
    public let checkpoint: String
    public let config: ModelConfig
    public let preprocessing: Preprocessing
    /// What the console should say once about where the preprocessing came from.
    public let preprocessingNote: String
    public let batchSize: Int
    /// The SPRSound label task of a `train --task` checkpoint (nil: ICBHI's 4 or 2 classes).
    public let task: TaskDefinition?
    public var classNames: [String] { task?.classes ?? ClassNames.names(classes: config.numClasses) }
    private let model: ASTModel
    private let fbank: KaldiFbank
    private var kernels: [Int: TorchaudioSincResampler] = [:]

    /// Spans per forward pass. The batch is what bounds memory: attention over 950 patches holds
    /// batch x heads x 950^2 floats per layer (ast-base at 32: over 1 GB), so it is the paper's
    /// batch, 8, not the trainer's evaluation batch of 32; on CPU the throughput is the same.
    public static let defaultBatchSize = 8

    /// Loads `checkpoint` (ours or the paper code's) for evaluation; `heads` for files without
    /// meta (default D / 64), as `train --eval`.
    public init(checkpoint: String, heads: Int?, device: String, batchSize: Int?) throws {
        guard FileManager.default.fileExists(atPath: checkpoint) else {
            throw PredictError(file: checkpoint, reason: "no such checkpoint")
        }
        let file = try LoadedCheckpoint(path: checkpoint)
        var config: ModelConfig
        var preprocessing = Preprocessing.paper
        var task: TaskDefinition?
        if file.meta != nil {
            let meta = try CheckpointMeta.read(file)
            config = meta.options.model
            if let name = meta.options.task {
                task = try Self.task(named: name, recorded: meta.options.features?.tasks, classes: config.numClasses, checkpoint: checkpoint)
            }
            if let recorded = meta.options.features {
                preprocessing = try Preprocessing(provenance: recorded)
            }
        } else {
            let architecture = try file.architecture()
            guard let classes = architecture.numClasses else {
                throw PredictError(file: checkpoint, reason: "has no classifier (classifier.0/1 tensors): nothing to predict with")
            }
            config = try architecture.modelConfig(frames: preprocessing.frames, bins: preprocessing.bins, heads: heads, numClasses: classes)
        }
        guard config.inputFrames == preprocessing.frames && config.inputBins == preprocessing.bins else {
            throw PredictError(file: checkpoint, reason: "its model takes \(config.inputFrames) x \(config.inputBins) inputs, its preprocessing gives \(preprocessing.frames) x \(preprocessing.bins)")
        }
        preprocessingNote = preprocessing.recorded
            ? "preprocessing from the checkpoint: \(preprocessing)"
            : "the checkpoint does not record its preprocessing (\(file.layout == .paper ? "the paper code's" : "written before it was recorded")): using the paper's pipeline: \(preprocessing)"
        let model = try ASTModel(config: config, device: device)
        try file.load(into: model, policy: .evaluate)
        self.checkpoint = checkpoint
        self.config = config
        self.task = task
        self.preprocessing = preprocessing
        self.model = model
        self.batchSize = max(1, batchSize ?? Self.defaultBatchSize)
        fbank = try KaldiFbank(options: preprocessing.fbank)
    }

    /// The task `name` of a `--task` checkpoint: its definition as the meta records it (the
    /// feature set's tasks, `options.features.tasks`); checkpoints written before that record the
    /// name only (`options.task`), and get SPRSound's definition (`SPRSoundRecipe.tasks`, the one
    /// `prep features` writes into the index). Either is checked against the model's class count.
    static func task(named name: String, recorded: [FeatureSetIndex.LabelTask]?, classes: Int, checkpoint: String) throws -> TaskDefinition {
        let known = recorded?.first { $0.name == name } ?? SPRSoundRecipe.tasks.first { $0.name == name }
        guard let known else {
            throw PredictError(file: checkpoint, reason: "is a model of --task \(name), which neither its meta nor SPRSound (\(SPRSoundLabels.tasks.map(\.name).joined(separator: "|"))) defines")
        }
        guard known.classes.count == classes else {
            throw PredictError(file: checkpoint, reason: "is a --task \(name) model with \(classes) classes; the task has \(known.classes.count) (\(known.classes.joined(separator: ", ")))")
        }
        guard known.level == "event" || known.level == "record" else {
            throw PredictError(file: checkpoint, reason: "task \(name) is of level '\(known.level)', neither event nor record")
        }
        return known
    }

    /// What was scored in one recording.
    public struct Outcome: Sendable {
        public var recording: String
        public var rows: [PredictionRow]
        /// "cycle" (ICBHI annotations), "event" or "recording" (SPRSound annotations), or "window".
        public var unit: String
        /// Annotation lines skipped or clamped, as `prep ingest` would report them.
        public var notes: [String]
        /// The recording's normalised fbank for `--png` (when asked for), frames x bins.
        public var spectrogram: [Float]?
    }

    /// Scores `wav`: its annotated cycles when `<stem>.txt` lies beside it, or for an SPRSound
    /// task model its events (record tasks: the recording) when `<stem>.json` lies beside it or
    /// in the sibling `*_json` folder (unless `ignoreAnnotations`), else windows of `window` seconds (default: the model's input) every
    /// `hop` seconds. Errors name the file and the reason.
    public func predict(wav: String, window: Double?, hop: Double, ignoreAnnotations: Bool = false,
                        spectrogramSeconds: Double? = nil) throws -> Outcome {
        let url = URL(fileURLWithPath: wav)
        let stem = url.deletingPathExtension().lastPathComponent
        let txt = url.deletingPathExtension().appendingPathExtension("txt").path
        let audio: Recording16k
        do {
            audio = try Recording16k(path: wav, resampler: preprocessing.resampler) { rate in self.kernel(from: rate) }
        } catch let error as AudioDecodingError {
            throw PredictError(file: wav, reason: Self.reason(error))
        }
        var notes: [String] = []
        var spans: [Span] = []
        let rate = Preprocessing.sampleRate
        var unit = "window"
        if let task, !ignoreAnnotations,
           let json = SPRSoundEventSlicing.annotationCandidates(forWAV: wav).first(where: { FileManager.default.fileExists(atPath: $0) }) {
            spans = try sprsoundSpans(json: json, audio: audio, level: task.level, notes: &notes)
            unit = task.level == "record" ? "recording" : "event"
        } else if task == nil, !ignoreAnnotations, FileManager.default.fileExists(atPath: txt) {
            spans = try icbhiSpans(txt: txt, audio: audio, notes: &notes)
            unit = "cycle"
        } else {
            for range in Windowing.windows(length: audio.length, sampleRate: rate, window: window ?? preprocessing.inputSeconds, hop: hop) {
                spans.append((range, Double(range.lowerBound) / Double(rate), Double(range.upperBound) / Double(rate)))
            }
        }

        let classes = config.numClasses
        let batches = stride(from: 0, to: spans.count, by: batchSize).map { Array(spans[$0..<min($0 + batchSize, spans.count)]) }
        let features = BatchFeatures(audio: audio, fbank: fbank, preprocessing: preprocessing, wav: wav)
        var logits: [Float] = []
        logits.reserveCapacity(spans.count * classes)
        // Pipelined: the next batch's features are computed on another thread while libtorch runs
        // the forward pass of this one (one batch ahead: two batches in memory at most).
        var next = features.start(batches.first.map { $0.map(\.range) } ?? [])
        for (b, _) in batches.enumerated() {
            let x = try next.wait()
            if b + 1 < batches.count { next = features.start(batches[b + 1].map(\.range)) }
            logits += try model.logits(x: x, batch: batches[b].count)
        }
        let rows = PredictionRow.rows(logits: logits, classes: classes,
                                      spans: spans.map { (stem, $0.start, $0.end) })
        var spectrogram: [Float]?
        if let spectrogramSeconds {
            let samples = try audio.samples(0..<min(audio.length, Int(spectrogramSeconds * Double(rate))))
            var values = fbank.compute(samples)
            preprocessing.normalisation.apply(to: &values)
            spectrogram = values
        }
        return Outcome(recording: stem, rows: rows, unit: unit, notes: notes, spectrogram: spectrogram)
    }

    /// Samples of the 16 kHz recording, and the start and end reported for them.
    typealias Span = (range: Range<Int>, start: Double, end: Double)

    /// The cycles `prep ingest` keeps of an ICBHI annotation file: its parser, its clamping rule.
    private func icbhiSpans(txt: String, audio: Recording16k, notes: inout [String]) throws -> [Span] {
        guard let data = FileManager.default.contents(atPath: txt) else { throw PredictError(file: txt, reason: "cannot read annotation file") }
        let parsed = AnnotationParser.parse(data, file: txt)
        guard !parsed.cycles.isEmpty else {
            let first = parsed.problems.first { $0.line != nil }.map { "line \($0.line!): \($0.reason)" }
            throw PredictError(file: txt, reason: "annotation file does not parse: no valid cycle" + (first.map { " (\($0))" } ?? ""))
        }
        notes += parsed.problems.map { "\($0.file)\($0.line.map { ":\($0)" } ?? ""): \($0.reason)" }
        let rate = Preprocessing.sampleRate
        let seconds = Double(audio.length) / Double(rate)
        var spans: [Span] = []
        for cycle in parsed.cycles {
            switch CycleSlicing.slice(cycle, sampleRate: rate, frames: audio.length) {
            case .rejected:
                notes.append("\(txt):\(cycle.line): cycle \(cycle.start)-\(cycle.end) s is empty after clamping to the audio (\(seconds) s): skipped, as prep ingest does")
            case .kept(let bounds, let clamped):
                if clamped { notes.append("\(txt):\(cycle.line): cycle ends at \(cycle.end) s, after the audio (\(seconds) s): clamped") }
                spans.append((bounds, cycle.start, cycle.end))
            }
        }
        guard !spans.isEmpty else { throw PredictError(file: txt, reason: "no annotated cycle lies within the audio") }
        return spans
    }

    /// What `prep ingest --corpus sprsound` makes of an SPRSound annotation file, for a task of
    /// `level`: `event`, the events it keeps (the SPRSound parser: sorted by start, zero-length
    /// and malformed events skipped; then `SPRSoundEventSlicing`: clamped to the audio, those
    /// after its end skipped), each from its annotated start to end; `record`, the record item,
    /// i.e. the whole recording (start 0, end its duration in seconds, as `prep features`
    /// writes), fixed to the model's length as `prep features` fixes it (docs/sprsound.md). A
    /// file that does not parse is an error naming it; one without events, for an event task,
    /// gives no rows (a note), as ingest keeps only its record item.
    private func sprsoundSpans(json: String, audio: Recording16k, level: String, notes: inout [String]) throws -> [Span] {
        let bytes = ((try? FileManager.default.attributesOfItem(atPath: json))?[.size] as? NSNumber)?.intValue ?? 0
        guard bytes <= SPRSoundEventSlicing.maximumAnnotationBytes else {
            throw PredictError(file: json, reason: "\(bytes) bytes, more than an annotation file can be (\(SPRSoundEventSlicing.maximumAnnotationBytes)): not read")
        }
        guard let data = FileManager.default.contents(atPath: json) else { throw PredictError(file: json, reason: "cannot read annotation file") }
        let annotation = SPRSoundAnnotation.parse(data)
        guard !annotation.unusable else {
            let reason = annotation.issues.first { $0.kind == .skippedFile }?.reason ?? "unusable"
            throw PredictError(file: json, reason: "annotation file does not parse: \(reason)")
        }
        if level == "record" {
            // The record label is the ground truth, not needed to score the recording.
            return [(0..<audio.length, 0, Double(audio.stream.frames) / Double(audio.stream.sampleRate))]
        }
        notes += annotation.issues.map { "\(json): \($0.reason)" }
        let seconds = Double(audio.length) / Double(Preprocessing.sampleRate)
        var spans: [Span] = []
        for event in annotation.events {
            let at = "event_annotation[\(event.position)] (\(event.type), \(event.start)-\(event.end) s)"
            switch SPRSoundEventSlicing.slice(event, frames: audio.length) {
            case .skipped:
                notes.append("\(json): \(at) lies after the audio's end (\(seconds) s): skipped, as prep ingest does")
            case .kept(let bounds, let clamped):
                if clamped { notes.append("\(json): \(at) ends after the audio (\(seconds) s): clamped") }
                spans.append((bounds, event.start, event.end))
            }
        }
        if spans.isEmpty { notes.append("\(json): no event to score (prep ingest keeps only the record item of such a file)") }
        return spans
    }

    private func kernel(from rate: Int) -> TorchaudioSincResampler {
        if let kernel = kernels[rate] { return kernel }
        let kernel = TorchaudioSincResampler(from: rate, to: Preprocessing.sampleRate)
        kernels[rate] = kernel
        return kernel
    }

    /// The decoder's message without the path (the caller names the file).
    static func reason(_ error: AudioDecodingError) -> String {
        let text = error.description
        return text.hasPrefix(error.path + ": ") ? String(text.dropFirst(error.path.count + 2)) : text
    }
}

/// Computes one batch of features on a background thread: `prep features`' per-cycle steps
/// (CycleFeatureComputer: fix the length, fbank, normalise) on spans of the streamed recording.
/// Unchecked Sendable: at most one job runs at a time and the caller waits for it before the
/// next, so the recording (one file position) is never used by two threads at once.
private final class BatchFeatures: @unchecked Sendable {
    let audio: Recording16k
    let fbank: KaldiFbank
    let preprocessing: Preprocessing
    let wav: String
    let workspace: KaldiFbank.Workspace
    var fixed: [Float]

    init(audio: Recording16k, fbank: KaldiFbank, preprocessing: Preprocessing, wav: String) {
        self.audio = audio
        self.fbank = fbank
        self.preprocessing = preprocessing
        self.wav = wav
        workspace = KaldiFbank.Workspace(for: fbank)
        fixed = [Float](repeating: 0, count: preprocessing.lengthFixing.length)
    }

    /// A running job; `wait()` returns its features or rethrows its error.
    final class Job: @unchecked Sendable {
        let done = DispatchSemaphore(value: 0)
        var result: Result<[Float], any Error> = .success([])

        func wait() throws -> [Float] {
            done.wait()
            return try result.get()
        }
    }

    func start(_ ranges: [Range<Int>]) -> Job {
        let job = Job()
        DispatchQueue.global().async {
            job.result = Result { try self.compute(ranges) }
            job.done.signal()
        }
        return job
    }

    private func compute(_ ranges: [Range<Int>]) throws -> [Float] {
        let rowLength = preprocessing.frames * preprocessing.bins
        var batch = [Float](repeating: 0, count: ranges.count * rowLength)
        for (row, range) in ranges.enumerated() {
            let samples = try audio.samples(range)
            try samples.withUnsafeBufferPointer { input in
                try fixed.withUnsafeMutableBufferPointer { output in
                    do { try preprocessing.lengthFixing.apply(input, into: output) } catch {
                        let rate = Double(Preprocessing.sampleRate)
                        throw PredictError(file: wav, reason: "span \(Double(range.lowerBound) / rate)-\(Double(range.upperBound) / rate) s: \(error)")
                    }
                }
            }
            fixed.withUnsafeBufferPointer { input in
                batch.withUnsafeMutableBufferPointer { out in
                    fbank.compute(input, into: UnsafeMutableBufferPointer(rebasing: out[(row * rowLength)..<((row + 1) * rowLength)]),
                                  workspace: workspace, normalizedBy: preprocessing.normalisation)
                }
            }
        }
        return batch
    }
}
