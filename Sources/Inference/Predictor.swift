import AudioDSP
import Foundation
import ICBHI
import Training

/// A trained model and the preprocessing it was trained with, applied to recordings: the
/// annotated cycles of an ICBHI `.txt` beside the WAV (the cycles `prep ingest` keeps), or
/// windows. Features are computed span by span and scored in batches.
public final class Predictor {
    public let checkpoint: String
    public let config: ModelConfig
    public let preprocessing: Preprocessing
    /// What the console should say once about where the preprocessing came from.
    public let preprocessingNote: String
    public let batchSize: Int
    public var classNames: [String] { ClassNames.names(classes: config.numClasses) }
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
        if file.meta != nil {
            let meta = try CheckpointMeta.read(file)
            config = meta.options.model
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
        self.preprocessing = preprocessing
        self.model = model
        self.batchSize = max(1, batchSize ?? Self.defaultBatchSize)
        fbank = try KaldiFbank(options: preprocessing.fbank)
    }

    /// What was scored in one recording.
    public struct Outcome: Sendable {
        public var recording: String
        public var rows: [PredictionRow]
        /// "cycle" (annotations) or "window".
        public var unit: String
        /// Annotation lines skipped or clamped, as `prep ingest` would report them.
        public var notes: [String]
        /// The recording's normalised fbank for `--png` (when asked for), frames x bins.
        public var spectrogram: [Float]?
    }

    /// Scores `wav`: its annotated cycles when `<stem>.txt` lies beside it (unless
    /// `ignoreAnnotations`), else windows of `window` seconds (default: the model's input) every
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
        var spans: [(range: Range<Int>, start: Double, end: Double)] = []
        let rate = Preprocessing.sampleRate
        let annotated = !ignoreAnnotations && FileManager.default.fileExists(atPath: txt)
        if annotated {
            guard let data = FileManager.default.contents(atPath: txt) else { throw PredictError(file: txt, reason: "cannot read annotation file") }
            let parsed = AnnotationParser.parse(data, file: txt)
            guard !parsed.cycles.isEmpty else {
                let first = parsed.problems.first { $0.line != nil }.map { "line \($0.line!): \($0.reason)" }
                throw PredictError(file: txt, reason: "annotation file does not parse: no valid cycle" + (first.map { " (\($0))" } ?? ""))
            }
            notes += parsed.problems.map { "\($0.file)\($0.line.map { ":\($0)" } ?? ""): \($0.reason)" }
            let seconds = Double(audio.length) / Double(rate)
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
        return Outcome(recording: stem, rows: rows, unit: annotated ? "cycle" : "window",
                       notes: notes, spectrogram: spectrogram)
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
