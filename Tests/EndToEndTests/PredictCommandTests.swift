import Foundation
import TestSupport
import Training
import TrainingTestSupport
import Visualization
import XCTest

/// The real `predict` binary on the real ICBHI sample: the same probabilities for the same cycles
/// as `train --eval --predictions` on a feature set of those recordings (the paper code's
/// checkpoint with the paper's pipeline, and our checkpoint with the non-default preprocessing
/// it records), windows, JSON and PNG output, and bad input.
final class PredictCommandTests: PrepTestCase {
    /// `recording,start,end,p_...,predicted` rows keyed by `recording@start-end`.
    private func rows(_ csv: String, file: StaticString = #filePath, line: UInt = #line) -> [String: [Double]] {
        var rows: [String: [Double]] = [:]
        let lines = csv.split(separator: "\n")
        XCTAssertTrue(lines.first?.hasPrefix("recording,start,end,p_normal,") ?? false, "header: \(lines.first ?? "")", file: file, line: line)
        for text in lines.dropFirst() {
            let fields = text.split(separator: ",").map(String.init)
            rows["\(fields[0])@\(fields[1])-\(fields[2])"] = fields[3..<(fields.count - 1)].compactMap(Double.init)
        }
        return rows
    }

    /// Every row of `eval` has a `predict` row for the same cycle with probabilities within 1e-5.
    private func assertSame(eval: String, predict: String, file: StaticString = #filePath, line: UInt = #line) throws -> Double {
        let expected = rows(try String(contentsOfFile: eval, encoding: .utf8), file: file, line: line)
        let got = rows(try String(contentsOfFile: predict, encoding: .utf8), file: file, line: line)
        XCTAssertFalse(expected.isEmpty, file: file, line: line)
        var worst = 0.0
        for (key, p) in expected {
            guard let q = got[key] else { XCTFail("predict has no row for \(key)", file: file, line: line); continue }
            XCTAssertEqual(p.count, q.count, file: file, line: line)
            for (a, b) in zip(p, q) { worst = max(worst, abs(a - b)) }
        }
        XCTAssertLessThanOrEqual(worst, 1e-5, file: file, line: line)
        return worst
    }

    func testPredictGivesTrainEvalProbabilitiesForTheSameCycles() throws {
        let dataset = try linkedDataset(from: [Fixtures.sampleDirectory])
        try prep(["ingest", dataset])
        try prep(["features"])
        let paperSet = try featureSetDirectory()
        let official = CheckpointFixtures.officialCheckpoint

        // The paper code's checkpoint: no meta, the paper's pipeline (said once).
        let evaluated = try Fixtures.run("train", ["--eval", "--checkpoint", official, "--heads", "4", "--shards", paperSet,
                                                   "--threads", "1", "--device", "cpu", "--predictions", workspace + "/eval.csv"])
        XCTAssertEqual(evaluated.status, 0, evaluated.stderr)
        let predicted = try Fixtures.run("predict", ["--checkpoint", official, "--heads", "4", "--threads", "1", "--device", "cpu",
                                                     dataset, "--output", workspace + "/predict.csv"])
        XCTAssertEqual(predicted.status, 0, predicted.stderr)
        XCTAssertEqual(predicted.stdout.components(separatedBy: "using the paper's pipeline").count, 2, predicted.stdout)
        XCTAssertTrue(predicted.stdout.contains("summary: 101_1b1_Al_sc_Meditron: "), predicted.stdout)
        let worstPaper = try assertSame(eval: workspace + "/eval.csv", predict: workspace + "/predict.csv")

        // Our checkpoint, trained on 4 s cycles with train-split normalisation: predict must apply
        // what the meta records, not the paper's pipeline.
        try prep(["features", "--length", "4", "--norm", "train", "--name", "short"])
        let shortSet = cache + "/short"
        let trained = try Fixtures.run("train", ["--shards", shortSet, "--model", "ast-tiny", "--epochs", "1", "--batch-size", "2",
                                                 "--threads", "1", "--device", "cpu", "--output", workspace + "/run"])
        XCTAssertEqual(trained.status, 0, trained.stderr)
        let meta = try CheckpointMeta.read(path: workspace + "/run/last.pth")
        XCTAssertEqual(meta.options.features?.options["length_samples"]?.integerValue, 64_000)
        XCTAssertEqual(meta.options.features?.normalisation.kind, "train")
        XCTAssertEqual(meta.options.features?.resampler, "reference")
        let ours = try Fixtures.run("train", ["--eval", "--checkpoint", workspace + "/run/last.pth", "--shards", shortSet,
                                              "--threads", "1", "--device", "cpu", "--predictions", workspace + "/eval-short.csv"])
        XCTAssertEqual(ours.status, 0, ours.stderr)
        let predictedOurs = try Fixtures.run("predict", ["--checkpoint", workspace + "/run/last.pth", "--threads", "1", "--device", "cpu",
                                                         "--output", workspace + "/predict-short.csv", dataset])
        XCTAssertEqual(predictedOurs.status, 0, predictedOurs.stderr)
        XCTAssertTrue(predictedOurs.stdout.contains("preprocessing from the checkpoint"), predictedOurs.stdout)
        XCTAssertTrue(predictedOurs.stdout.contains("length: 64000"), predictedOurs.stdout)
        let worstOurs = try assertSame(eval: workspace + "/eval-short.csv", predict: workspace + "/predict-short.csv")
        print("predict vs train --eval --predictions: max abs difference \(worstPaper) (paper checkpoint), \(worstOurs) (ours, 4 s, norm train)")
    }

    /// Without annotations: 8 s windows every 4 s up to the first reaching the end; JSON and PNG.
    func testWindowsJSONAndPicture() throws {
        let dir = workspace + "/wavs"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        // 15.856 s at 4 kHz, no annotation beside it: windows 0-8, 4-12, 8-15.856.
        try FileManager.default.copyItem(atPath: Fixtures.sampleDirectory + "/104_1b1_Al_sc_Litt3200.wav", toPath: dir + "/a.wav")
        let result = try Fixtures.run("predict", ["--checkpoint", CheckpointFixtures.officialCheckpoint, "--heads", "4", "--threads", "1",
                                                  "--json", "--png", workspace + "/png", dir])
        XCTAssertEqual(result.status, 0, result.stderr)
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let rows = try XCTUnwrap(json["rows"] as? [[String: Any]])
        XCTAssertEqual(rows.map { $0["start"] as? Double }, [0, 4, 8])
        XCTAssertEqual(rows.map { $0["end"] as? Double }, [8, 12, 15.856])
        XCTAssertEqual((rows[0]["probabilities"] as? [String: Double])?.values.reduce(0, +) ?? 0, 1, accuracy: 1e-9)
        XCTAssertEqual((json["summaries"] as? [[String: Any]])?.first?["recording"] as? String, "a")
        XCTAssertTrue(result.stderr.contains("summary: a: 3 windows: "), result.stderr)
        let picture = try PNGFile.read(workspace + "/png/a.png")
        XCTAssertGreaterThan(picture.header.width, 1500)
    }

    /// Bad inputs: each named with its reason, the good file still scored, exit 1 with a count.
    func testBadInputIsNamedAndTheRestRuns() throws {
        let dir = workspace + "/mixed"
        try FileManager.default.createDirectory(atPath: dir + "/nothing", withIntermediateDirectories: true)
        let good = Fixtures.sampleDirectory + "/101_1b1_Al_sc_Meditron"
        try FileManager.default.copyItem(atPath: good + ".wav", toPath: dir + "/good.wav")
        try FileManager.default.copyItem(atPath: good + ".txt", toPath: dir + "/good.txt")
        XCTAssertTrue(FileManager.default.createFile(atPath: dir + "/empty.wav", contents: Data()))
        let bytes = try Data(contentsOf: URL(fileURLWithPath: good + ".wav"))
        XCTAssertTrue(FileManager.default.createFile(atPath: dir + "/truncated.wav", contents: bytes.prefix(bytes.count / 2)))
        XCTAssertTrue(FileManager.default.createFile(atPath: dir + "/text.wav", contents: Data("not audio at all\n".utf8)))
        try FileManager.default.copyItem(atPath: good + ".wav", toPath: dir + "/badtxt.wav")
        XCTAssertTrue(FileManager.default.createFile(atPath: dir + "/badtxt.txt", contents: Data("start end crackle wheeze\nx y z\n".utf8)))
        let result = try Fixtures.run("predict", ["--checkpoint", CheckpointFixtures.officialCheckpoint, "--heads", "4", "--threads", "1",
                                                  dir, dir + "/nothing", dir + "/missing.wav"])
        XCTAssertEqual(result.status, 1, result.stderr)
        for (file, reason) in [("badtxt.txt", "annotation file does not parse"), ("empty.wav", "empty file"),
                               ("text.wav", "not a RIFF/WAVE file"), ("truncated.wav", "truncated"),
                               ("nothing", "folder holds no .wav file"), ("missing.wav", "no such file")] {
            XCTAssertTrue(result.stderr.contains(file) && result.stderr.contains(reason), "\(file): \(reason)\n\(result.stderr)")
        }
        XCTAssertTrue(result.stderr.contains("predict: 6 of 7 inputs failed"), result.stderr)
        XCTAssertEqual(result.stdout.split(separator: "\n").filter { $0.hasPrefix("good,") }.count, 12, result.stdout)

        // A checkpoint of no known shape: one message naming it, nothing scored.
        let foreign = try Fixtures.run("predict", ["--checkpoint", good + ".wav", dir + "/good.wav"])
        XCTAssertEqual(foreign.status, 1)
        XCTAssertTrue(foreign.stderr.contains("predict: error: \(good).wav: "), foreign.stderr)
    }
}
