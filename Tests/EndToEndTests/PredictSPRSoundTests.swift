import FeatureStore
import Foundation
import TestSupport
import Training
import XCTest

/// `predict` with SPRSound task models (issue #25, second corpus), on synthetic audio for the 51
/// real sample annotations (../shared/sprsound/annotations): `prep ingest --corpus sprsound` + `prep features`, a 1-epoch
/// ast-tiny per task level, then `train --eval --predictions` (rows of every test split, the
/// split named) against `predict` on the same WAVs with their JSON in the sibling `*_json`
/// folders: the same events (tasks 1-x) and recordings (2-x) with the same probabilities
/// (<= 1e-5; record items 10 s long: tiled and cut); a JSON that does not parse is named, the others still run, exit 1.
final class PredictSPRSoundTests: PrepTestCase {
    private var samples: String { Fixtures.shared("sprsound/annotations") }

    /// Rows of a predictions CSV keyed by `recording@start-end`: probabilities and the `split`
    /// column (nil when there is none), checking the header's class columns.
    private func rows(_ path: String, classes: [String], file: StaticString = #filePath, line: UInt = #line) throws -> [String: (p: [Double], split: String?)] {
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init)
        let header = lines.first?.split(separator: ",").map(String.init) ?? []
        XCTAssertEqual(Array(header.prefix(3 + classes.count + 1)), ["recording", "start", "end"] + classes.map { "p_" + $0 } + ["predicted"],
                       path, file: file, line: line)
        let hasSplit = header.last == "split"
        var result: [String: (p: [Double], split: String?)] = [:]
        for text in lines.dropFirst() {
            let fields = text.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            XCTAssertEqual(fields.count, header.count, text, file: file, line: line)
            XCTAssertTrue(classes.contains(fields[3 + classes.count]), text, file: file, line: line)
            result["\(fields[0])@\(fields[1])-\(fields[2])"] = (fields[3..<(3 + classes.count)].compactMap(Double.init), hasSplit ? fields.last : nil)
        }
        return result
    }

    /// Every `train --eval` row has a `predict` row for the same span, probabilities within 1e-5.
    private func assertSame(eval: String, predict: String, classes: [String], file: StaticString = #filePath, line: UInt = #line) throws -> (worst: Double, rows: Int, splits: Set<String>) {
        let expected = try rows(eval, classes: classes, file: file, line: line)
        let got = try rows(predict, classes: classes, file: file, line: line)
        XCTAssertFalse(expected.isEmpty, file: file, line: line)
        var worst = 0.0
        for (key, row) in expected {
            guard let q = got[key] else { XCTFail("predict has no row for \(key)", file: file, line: line); continue }
            XCTAssertEqual(row.p.count, classes.count, file: file, line: line)
            XCTAssertEqual(q.p.count, classes.count, file: file, line: line)
            for (a, b) in zip(row.p, q.p) { worst = max(worst, abs(a - b)) }
        }
        XCTAssertLessThanOrEqual(worst, 1e-5, file: file, line: line)
        return (worst, expected.count, Set(expected.values.compactMap(\.split)))
    }

    func testTaskModelsPredictTrainEvalProbabilitiesForTheSameEventsAndRecordings() throws {
        let corpus = workspace + "/sprsound"
        let synth = try Fixtures.run("prep", ["synth", "--corpus", "sprsound", "--out", corpus, "--annotations", samples], in: workspace)
        XCTAssertEqual(synth.status, 0, "\(synth)")
        try prep(["ingest", "--corpus", "sprsound", corpus])
        // Events: 2 s items (fast). Records: 10 s, so that the record-item policy is exercised both
        // ways (the ~9.2 s recordings tiled, the ~15.4 s ones cut).
        try prep(["features", "--length", "2", "--name", "short"])
        try prep(["features", "--length", "10", "--name", "long"])
        // The WAVs ingest used (a stem in several trees is one recording: the first path).
        let table = try String(contentsOfFile: manifests + "/recordings.csv", encoding: .utf8).split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        let wavColumn = try XCTUnwrap(table[0].firstIndex(of: "wav"))
        let wavs = table.dropFirst().map { corpus + "/" + $0[wavColumn] }
        XCTAssertEqual(wavs.count, 50)

        var measured: [String] = []
        for (task, set, classes) in [("1-2", cache + "/short", ["Normal", "Rhonchi", "Wheeze", "Stridor", "Coarse Crackle", "Fine Crackle", "Wheeze+Crackle"]),
                                     ("2-2", cache + "/long", ["Normal", "Poor Quality", "CAS", "DAS", "CAS & DAS"])] {
            let run = workspace + "/run-" + task
            let trained = try Fixtures.run("train", ["--shards", set, "--task", task, "--model", "ast-tiny", "--method", "ce", "--epochs", "1",
                                                     "--batch-size", "8", "--threads", "1", "--device", "cpu", "--output", run])
            XCTAssertEqual(trained.status, 0, trained.stderr)
            // The meta names the task and records its definition (predict's class names and level).
            let meta = try CheckpointMeta.read(path: run + "/last.pth")
            XCTAssertEqual(meta.options.task, task)
            XCTAssertEqual(meta.options.features?.tasks?.first { $0.name == task }?.classes, classes)
            let evaluated = try Fixtures.run("train", ["--eval", "--checkpoint", run + "/last.pth", "--shards", set, "--threads", "1",
                                                       "--device", "cpu", "--predictions", workspace + "/eval-\(task).csv"])
            XCTAssertEqual(evaluated.status, 0, evaluated.stderr)
            let predicted = try Fixtures.run("predict", ["--checkpoint", run + "/last.pth", "--threads", "1", "--device", "cpu",
                                                         "--output", workspace + "/predict-\(task).csv"] + wavs)
            XCTAssertEqual(predicted.status, 0, predicted.stderr)
            XCTAssertTrue(predicted.stdout.contains("(SPRSound task \(task), \(task.hasPrefix("1") ? "event" : "record") level: Normal, "), predicted.stdout)
            XCTAssertTrue(predicted.stdout.contains("preprocessing from the checkpoint"), predicted.stdout)
            let same = try assertSame(eval: workspace + "/eval-\(task).csv", predict: workspace + "/predict-\(task).csv", classes: classes)
            // Every test split of the set with rows of the task, none of train or unassigned.
            XCTAssertTrue(same.splits.isSuperset(of: ["inter_test", "intra_test"]), "\(same.splits)")
            XCTAssertTrue(same.splits.isDisjoint(with: ["train", "unassigned"]), "\(same.splits)")
            let predictRows = try rows(workspace + "/predict-\(task).csv", classes: classes)
            let predictLines = try String(contentsOfFile: workspace + "/predict-\(task).csv", encoding: .utf8).split(separator: "\n").count - 1
            if task == "2-2" {
                XCTAssertEqual(predictLines, 50, "one row per recording")
                XCTAssertTrue(predicted.stdout.contains(": 1 recording: "), predicted.stdout)
                XCTAssertTrue(predictRows.keys.allSatisfy { $0.contains("@0.0-") })
            } else {
                // Every event ingest kept (events.csv), none other.
                let events = try String(contentsOfFile: manifests + "/events.csv", encoding: .utf8).split(separator: "\n").count - 1
                XCTAssertEqual(predictLines, events)
                XCTAssertTrue(predicted.stdout.contains(" events: Normal "), predicted.stdout)
            }
            measured.append("task \(task): \(same.rows) test rows of \(same.splits.sorted().joined(separator: ", ")), max abs difference \(same.worst)")
        }
        print("predict vs train --eval --predictions (SPRSound): " + measured.joined(separator: "; "))

        // Bad input: a JSON that does not parse is named; the other file still runs; exit 1.
        let mixed = workspace + "/mixed"
        try FileManager.default.createDirectory(atPath: mixed, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: wavs[0], toPath: mixed + "/good.wav")
        let goodJSON = try XCTUnwrap(SPRSoundTestPaths.json(forWAV: wavs[0]))
        try FileManager.default.copyItem(atPath: goodJSON, toPath: mixed + "/good.json")
        try FileManager.default.copyItem(atPath: wavs[1], toPath: mixed + "/bad.wav")
        XCTAssertTrue(FileManager.default.createFile(atPath: mixed + "/bad.json", contents: Data("{\"event_annotation\": [".utf8)))
        let bad = try Fixtures.run("predict", ["--checkpoint", workspace + "/run-1-2/last.pth", "--threads", "1", "--device", "cpu", mixed])
        XCTAssertEqual(bad.status, 1, bad.stderr)
        XCTAssertTrue(bad.stderr.contains("predict: error: \(mixed)/bad.json: annotation file does not parse: invalid or truncated JSON"), bad.stderr)
        XCTAssertTrue(bad.stderr.contains("predict: 1 of 2 inputs failed: \(mixed)/bad.wav"), bad.stderr)
        XCTAssertFalse(bad.stdout.split(separator: "\n").filter { $0.hasPrefix("good,") }.isEmpty, bad.stdout)
        // Without annotations (or --ignore-annotations): windows, as for ICBHI.
        let windows = try Fixtures.run("predict", ["--checkpoint", workspace + "/run-1-2/last.pth", "--threads", "1", "--device", "cpu",
                                                   "--ignore-annotations", mixed + "/good.wav"])
        XCTAssertEqual(windows.status, 0, windows.stderr)
        XCTAssertTrue(windows.stderr.contains(" windows: Normal "), windows.stderr)
    }
}

/// Where the synthetic corpus's JSON of a WAV is: `*_wav` folders read as `*_json`.
enum SPRSoundTestPaths {
    static func json(forWAV wav: String) -> String? {
        let candidate = wav.replacingOccurrences(of: "_wav/", with: "_json/").replacingOccurrences(of: ".wav", with: ".json")
        return FileManager.default.fileExists(atPath: candidate) ? candidate : nil
    }
}
