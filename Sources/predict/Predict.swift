import ArgumentParser
import Durability
import Foundation
import HostCPU
import Inference
import Training
import Visualization

@main
struct Predict: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict",
        abstract: "Apply a trained model to recordings: per annotated cycle, or per window.",
        discussion: """
            Each WAV is preprocessed exactly as the model's training data was (resampler, fades,
            length fixing, fbank options, normalisation: from the checkpoint's meta; a checkpoint
            that does not record it, such as the paper code's, gets the paper's pipeline, said
            once). With an ICBHI annotation file <stem>.txt beside the WAV, one row per annotated
            cycle, the cycles `prep ingest` keeps; for a model of an SPRSound task (train --task)
            with <stem>.json beside the WAV or in the sibling *_json folder, one row per event
            `prep ingest --corpus sprsound` keeps (tasks 1-1, 1-2) or per recording (2-1, 2-2,
            the record item's length policy), the columns named after the task's classes; without, windows of --window seconds every
            --hop seconds from 0 up to the first window reaching the end (a short last window is
            padded as training pads). Rows: recording,start,end,p_<class>...,predicted (CSV, or
            --json). Per recording a summary line: \(RecordingSummary.rule).
            A file that cannot be used is named with the reason; the others still run, and the
            exit status is 1 when any failed.
            """)

    @Argument(help: "WAV files or folders of WAV files.") var inputs: [String]
    @Option(help: "Checkpoint: this trainer's or the paper code's.") var checkpoint: String
    @Option(help: "Attention heads for a checkpoint without meta (default D / 64), as train --eval.") var heads: Int?
    @Option(help: "Window length in seconds without annotations (default: the model's input, 8 s).") var window: Double?
    @Option(help: "Seconds between window starts.") var hop: Double = 4
    @Flag(help: "Score windows even where an annotation file lies beside the WAV.") var ignoreAnnotations = false
    @Option(help: "Predictions file (default: standard output).") var output: String?
    @Flag(help: "JSON instead of CSV (rows, per-recording summaries, the preprocessing used).") var json = false
    @Option(help: ArgumentHelp("Write <DIR>/<recording>.png: the spectrogram (first 120 s) with the predicted classes as a band.", valueName: "DIR"))
    var png: String?
    @Option(help: "cpu or cuda (default: cuda when libtorch sees one).") var device: String?
    @Option(help: "CPU threads (libtorch and OpenBLAS together; default: all cores).") var threads: Int?
    @Option(help: "Spans per forward pass (default 8: the batch bounds memory).") var batchSize: Int?

    func validate() throws {
        if let problem = Windowing.validate(window: window, hop: hop) { throw ValidationError(problem) }
        if let heads, heads < 1 { throw ValidationError("--heads must be at least 1") }
        if let batchSize, batchSize < 1 { throw ValidationError("--batch-size must be at least 1") }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
        if let device {
            do { try TrainingOptions.validate(device: device) } catch { throw ValidationError("\(error)") }
        }
    }

    /// The WAVs an input names: a file as given, a folder's *.wav (sorted); nil with a reason.
    static func expand(_ input: String) -> Result<[String], PredictError> {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: input, isDirectory: &isDirectory) else {
            return .failure(PredictError(file: input, reason: "no such file or folder"))
        }
        guard isDirectory.boolValue else { return .success([input]) }
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: input)) ?? [])
            .filter { $0.lowercased().hasSuffix(".wav") }.sorted()
        guard !names.isEmpty else { return .failure(PredictError(file: input, reason: "folder holds no .wav file")) }
        return .success(names.map { (input as NSString).appendingPathComponent($0) })
    }

    func run() throws {
        HostCPU.startupCheck(program: "predict")
        Torch.limitThreads(to: threads ?? ProcessInfo.processInfo.activeProcessorCount)
        let device = device ?? (Torch.cudaAvailable ? "cuda" : "cpu")
        let predictor: Predictor
        do {
            predictor = try Predictor(checkpoint: checkpoint, heads: heads, device: device, batchSize: batchSize)
        } catch { fail("\(error)") }
        let toStdout = output == nil || output == "-"
        // The console: standard error when the rows go to standard output.
        let say: (String) -> Void = { line in
            if toStdout { FileHandle.standardError.write(Data((line + "\n").utf8)) } else { writeLine(line) }
        }
        say("predict: \(checkpoint): D \(predictor.config.embedDim), \(predictor.config.depth) blocks, \(predictor.config.heads) heads, \(predictor.config.numClasses) classes\(predictor.task.map { " (SPRSound task \($0.name), \($0.level) level: \($0.classes.joined(separator: ", ")))" } ?? ""), device \(device), batch \(predictor.batchSize)")
        say("predict: " + predictor.preprocessingNote)
        say("predict: summary rule: " + RecordingSummary.rule)
        let writer: PredictionWriter
        do { writer = try PredictionWriter(path: output, format: json ? .json : .csv, names: predictor.classNames) } catch { fail("\(error)") }
        writer.metadata = ["checkpoint": checkpoint, "preprocessing": predictor.preprocessing.description,
                           "preprocessing_from_checkpoint": predictor.preprocessing.recorded]
        if let png {
            do { try FileManager.default.createDirectory(atPath: png, withIntermediateDirectories: true) } catch { fail("\(png): cannot create the folder: \(error)") }
        }
        let shownSeconds = 120.0
        var failures: [String] = [], done = 0, spans = 0
        let started = Date()
        for input in inputs {
            let files: [String]
            switch Self.expand(input) {
            case .success(let found): files = found
            case .failure(let error):
                failures.append(input)
                say("predict: error: \(error)")
                continue
            }
            for wav in files {
                do {
                    let outcome = try predictor.predict(wav: wav, window: window, hop: hop, ignoreAnnotations: ignoreAnnotations,
                                                        spectrogramSeconds: png == nil ? nil : shownSeconds)
                    for note in outcome.notes { say("predict: note: \(note)") }
                    writer.append(outcome.rows)
                    spans += outcome.rows.count
                    // An SPRSound file without events scores nothing for an event task (a note said so).
                    guard !outcome.rows.isEmpty else { done += 1; continue }
                    let summary = RecordingSummary(recording: outcome.recording, rows: outcome.rows, classes: predictor.config.numClasses)
                    writer.append(summary)
                    say("summary: " + summary.line(names: predictor.classNames, unit: outcome.unit))
                    if let png, let spectrogram = outcome.spectrogram {
                        let image = PredictionPicture.render(spectrogram: spectrogram, preprocessing: predictor.preprocessing,
                                                             outcome: outcome, names: predictor.classNames, shownSeconds: shownSeconds)
                        let path = (png as NSString).appendingPathComponent(outcome.recording + ".png")
                        try AtomicFile.produce(path) { temporary in try PNGFile.write(image, to: temporary) }
                    }
                    done += 1
                } catch let error as PredictError {
                    failures.append(wav)
                    say("predict: error: \(error)")
                } catch {
                    failures.append(wav)
                    say("predict: error: \(wav): \(error)")
                }
            }
        }
        do { try writer.finish() } catch { fail("\(error)") }
        if !failures.isEmpty {
            FileHandle.standardError.write(Data("predict: \(failures.count) of \(failures.count + done) input\(failures.count + done == 1 ? "" : "s") failed: \(failures.joined(separator: ", "))\n".utf8))
            throw ExitCode.failure
        }
        let seconds = Date().timeIntervalSince(started)
        say("predict: \(done) recording\(done == 1 ? "" : "s") done: \(spans) spans in "
            + String(format: "%.2f s (%.1f spans/s, model load excluded)", seconds, Double(spans) / max(seconds, 1e-9)))
    }

    func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data("predict: error: \(message)\n".utf8))
        Predict.exit(withError: ExitCode.failure)
    }
}
