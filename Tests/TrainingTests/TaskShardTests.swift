import FeatureStore
import Foundation
@testable import Training
import TrainingTestSupport
import XCTest

/// SPRSound feature sets (`feature-shards/2`, the SPRSound shard spec) as written by
/// TrainingTestSupport.SyntheticSPRSoundShards, read through FeatureSet and ShardCycles, and a
/// short task run through the library.
final class TaskShardTests: XCTestCase {
    func testReadsCorpusTasksAndTaskRows() throws {
        let dir = try Paths.temporaryDirectory("sprsound-shards")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try SyntheticSPRSoundShards.write(to: dir)
        let set = try FeatureSet(directory: dir)
        XCTAssertEqual(set.index.format, "feature-shards/2")
        XCTAssertEqual(set.index.corpusName, "sprsound")
        XCTAssertEqual(set.index.tasks?.map(\.name), ["1-1", "1-2", "2-1", "2-2"])
        XCTAssertEqual(set.index.task(named: "2-2")?.classes.count, 5)
        XCTAssertEqual(set.splits, ["train", "inter_test", "intra_test", "test2024", "unassigned"])

        // Event rows for 1-x, record rows for 2-x; the event-only test2024 has no 2-x rows.
        let events = try set.rows(split: "train", task: set.index.task(named: "1-2"))
        XCTAssertEqual(events.count, 42)
        XCTAssertEqual(events.rows.map(\.label), (0..<42).map { $0 % 7 })
        XCTAssertEqual(events.rows.map(\.binaryLabel), (0..<42).map { $0 % 7 == 0 ? 0 : 1 })
        XCTAssertNil(events.rows[0].fold)
        let records = try set.rows(split: "inter_test", task: set.index.task(named: "2-1"))
        XCTAssertEqual(records.rows.map(\.row), Array(14..<24))
        XCTAssertEqual(records.rows.map(\.label), (0..<10).map { [0, 1, 2, 2, 2][$0 % 5] })
        XCTAssertEqual(try set.rows(split: "test2024", task: set.index.task(named: "2-2")).count, 0)

        let cycles = try ShardCycles(directory: dir, split: "intra_test", task: "1-1")
        XCTAssertEqual(cycles.count, 14)
        XCTAssertEqual(cycles.task?.name, "1-1")
        XCTAssertEqual(cycles.labels, (0..<14).map { $0 % 7 == 0 ? 0 : 1 })
        XCTAssertEqual(cycles.patients[0], 40_000_200)
        var row = [Float](repeating: 0, count: cycles.frames * cycles.bins)
        try row.withUnsafeMutableBufferPointer { try cycles.readFeatures(13, into: $0) }
        XCTAssertFalse(row.allSatisfy { $0 == 0 })
    }

    func testTaskErrors() throws {
        let dir = try Paths.temporaryDirectory("sprsound-errors")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try SyntheticSPRSoundShards.write(to: dir + "/sprsound")
        try SyntheticShards.write(to: dir + "/icbhi", train: SyntheticCorpus.make(count: 4, seed: 1), test: SyntheticCorpus.make(count: 3, seed: 2))
        func message(_ body: () throws -> Any) -> String {
            do { _ = try body(); return "no error" } catch { return "\(error)" }
        }
        let noTask = message { try ShardCycles(directory: dir + "/sprsound", split: "train") }
        XCTAssertTrue(noTask.contains("is a sprsound feature set: choose its label task with --task 1-1|1-2|2-1|2-2"), noTask)
        let onICBHI = message { try ShardCycles(directory: dir + "/icbhi", split: "train", task: "1-2") }
        XCTAssertTrue(onICBHI.contains("--task 1-2: \(dir)/icbhi is an icbhi feature set without label tasks"), onICBHI)
        let unknown = message { try ShardCycles(directory: dir + "/sprsound", split: "train", task: "3-1") }
        XCTAssertTrue(unknown.contains("--task 3-1: \(dir)/sprsound has the tasks 1-1|1-2|2-1|2-2"), unknown)

        // A class index past the task's classes names the shard, the dataset and the row; 4..6
        // are fine in 1-2 (no 0...3 rule on task sets).
        try SyntheticSPRSoundShards.write(to: dir + "/bad", label: { task, split, row, value in
            task == "2-2" && split == "train" && row == 50 ? 5 : value
        })
        let bad = message { try ShardCycles(directory: dir + "/bad", split: "train", task: "2-2") }
        XCTAssertTrue(bad.contains("train-00000.h5: task_2_2 5 at row 50 is neither -1 nor a class of task 2-2 (0-4)"), bad)
        XCTAssertEqual(try ShardCycles(directory: dir + "/bad", split: "train", task: "1-2").labels.max(), 6)
        let below = message {
            try SyntheticSPRSoundShards.write(to: dir + "/below", label: { task, _, row, value in task == "1-1" && row == 2 ? -2 : value })
            return try ShardCycles(directory: dir + "/below", split: "inter_test", task: "1-1")
        }
        XCTAssertTrue(below.contains("task_1_1 -2 at row 2"), below)

        // The options' rules of a task run.
        var options = SyntheticCorpus.options(output: dir + "/run", epochs: 1, method: .ce)
        options.task = "1-2"
        options.model.numClasses = 7
        XCTAssertNoThrow(try options.validate())
        options.model.numClasses = 4
        options.task = nil
        XCTAssertNoThrow(try options.validate())
        options.model.numClasses = 7
        XCTAssertTrue(message { try options.validate() }.contains("--classes must be 4 or 2"))
        options.task = "1-2"
        options.testFold = 1
        XCTAssertTrue(message { try options.validate() }.contains("--test-fold is ICBHI's patient-wise folds"))
        options.testFold = nil
        for method in ["sgscl", "dat"] {
            options.method = TrainingMethod(rawValue: method)!
            XCTAssertTrue(message { try options.validate() }.contains("--method \(method) groups cycles by --meta dev"), method)
        }
        options.method = TrainingMethod(rawValue: "sgscl")!
        options.meta = .label
        XCTAssertNoThrow(try options.validate())
    }

    /// An index without `corpus` (every ICBHI set, older ones too) is ICBHI's; an unknown format
    /// and a feature-shards/2 index without its corpus are refused.
    func testIndexCorpusDefaultsAndFormats() throws {
        let dir = try Paths.temporaryDirectory("sprsound-index")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try SyntheticShards.write(to: dir, train: SyntheticCorpus.make(count: 4, seed: 1), test: SyntheticCorpus.make(count: 3, seed: 2))
        let text = try String(contentsOfFile: dir + "/index.json", encoding: .utf8)
        XCTAssertFalse(text.contains("corpus"), "ICBHI indexes stay as they were")
        XCTAssertFalse(text.contains("tasks"))
        let index = try FeatureSetIndex.read(directory: dir)
        XCTAssertEqual(index.corpusName, "icbhi")
        XCTAssertNil(index.tasks)
        for (format, expected) in [("feature-shards/3", "format 'feature-shards/3', expected 'icbhi-feature-shards/1' or 'feature-shards/2'"),
                                   ("feature-shards/2", "format 'feature-shards/2' without \"corpus\"")] {
            try text.replacingOccurrences(of: "icbhi-feature-shards/1", with: format)
                .write(toFile: dir + "/index.json", atomically: true, encoding: .utf8)
            XCTAssertThrowsError(try FeatureSetIndex.read(directory: dir)) { XCTAssertTrue("\($0)".contains(expected), "\($0)") }
        }
    }

    /// One epoch of task 2-2 through the library: the record rows of train, tested on the two
    /// patient tests (test2024 has no record labels), per-split metrics in log and result.
    func testTaskRunThroughTheSession() throws {
        let dir = try Paths.temporaryDirectory("sprsound-run")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try SyntheticSPRSoundShards.write(to: dir + "/shards")
        var options = SyntheticCorpus.options(output: dir + "/run", epochs: 2, method: .ce)
        options.task = "2-2"
        options.batchSize = 8
        var lines: [String] = []
        let history = try TrainingSession.train(shards: dir + "/shards", options: options, resume: false, report: { lines.append($0) })
        let text = lines.joined(separator: "\n")
        XCTAssertTrue(text.contains("test2024: no rows of task 2-2, not a test of this run"), text)
        XCTAssertTrue(text.contains("task 2-2 (record level: Normal, Poor Quality, CAS, DAS, CAS & DAS): 30 train rows; test rows inter_test 10, intra_test 10"), text)
        XCTAssertTrue(text.contains("inter_test SE"), text)
        XCTAssertTrue(text.contains("confusion matrix of the last epoch on intra_test"), text)
        XCTAssertEqual(history.count, 2)
        let tests = try XCTUnwrap(history[1].tests)
        XCTAssertEqual(tests.map(\.split), ["inter_test", "intra_test"])
        XCTAssertEqual(tests.map(\.rows), [10, 10])
        XCTAssertEqual(history[1].score, (tests[0].score + tests[1].score) / 2, accuracy: 1e-12)
        XCTAssertEqual(history[1].confusion.count, 5)
        XCTAssertEqual(history.filter(\.best).first?.epoch, 1, "every epoch is eligible: the first is best at once")
        let result = try RunResult.read(path: dir + "/run/result.json")
        XCTAssertEqual(result.task, "2-2")
        XCTAssertEqual(result.options.model.numClasses, 5)
        XCTAssertEqual(result.last.tests?.map(\.split), ["inter_test", "intra_test"])
        XCTAssertNotNil(result.best)
        XCTAssertTrue(try String(contentsOfFile: dir + "/run/curves.svg", encoding: .utf8).contains("test selection mean (%)"))
        let meta = try CheckpointMeta.read(path: dir + "/run/last.pth")
        XCTAssertEqual(meta.options.task, "2-2")
        XCTAssertNotNil(meta.best.bestTaskScore)
    }

    /// ICBHI runs write none of the task keys: log.jsonl, result.json and the checkpoint's meta
    /// are as before (and so is the options hash, computed from the same JSON).
    func testICBHIRunWritesNoTaskKeys() throws {
        let dir = try Paths.temporaryDirectory("icbhi-no-task-keys")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try SyntheticShards.write(to: dir + "/shards", train: SyntheticCorpus.make(count: 24, seed: 1),
                                  test: SyntheticCorpus.make(count: 10, seed: 2))
        let options = SyntheticCorpus.options(output: dir + "/run", epochs: 1, method: .ce)
        try TrainingSession.train(shards: dir + "/shards", options: options, resume: false, report: { _ in })
        let meta = try XCTUnwrap(try LoadedCheckpoint(path: dir + "/run/last.pth").meta)
        for text in [try String(contentsOfFile: dir + "/run/log.jsonl", encoding: .utf8),
                     try String(contentsOfFile: dir + "/run/result.json", encoding: .utf8), meta] {
            for key in ["\"task\"", "\"tests\"", "bestTaskScore", "harmonicScore"] {
                XCTAssertFalse(text.contains(key), "\(key) in \(text.prefix(300))")
            }
        }
        XCTAssertTrue(try String(contentsOfFile: dir + "/run/result.json", encoding: .utf8).contains("\"specificity2\""))
    }
}
