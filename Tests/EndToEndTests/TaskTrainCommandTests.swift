import Foundation
import TestSupport
import Training
import TrainingTestSupport
import XCTest

/// `train --task` on an SPRSound-format feature set (TrainingTestSupport.SyntheticSPRSoundShards):
/// short ast-tiny runs of an event task (1-2) and a record task (2-1), `--eval` of a task
/// checkpoint, a seed sweep with `train report`, `--emit` carrying `--task`, and the errors.
final class TaskTrainCommandTests: XCTestCase {
    func testEventTaskOneTwo() throws {
        let dir = try Fixtures.scratchDirectory("task-1-2")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try SyntheticSPRSoundShards.write(to: dir + "/shards")
        let trained = try Fixtures.run("train", ["--shards", dir + "/shards", "--task", "1-2", "--model", "ast-tiny", "--method", "ce",
                                                 "--epochs", "2", "--threads", "1", "--device", "cpu", "--output", dir + "/run"])
        XCTAssertEqual(trained.status, 0, trained.stderr)
        let out = trained.stdout
        XCTAssertTrue(out.contains("task 1-2 (event level: Normal, Rhonchi, Wheeze, Stridor, Coarse Crackle, Fine Crackle, Wheeze+Crackle): 42 train rows; test rows inter_test 14, intra_test 14, test2024 8"), out)
        XCTAssertTrue(out.contains("epoch   2/2"), out)
        for split in ["inter_test", "intra_test", "test2024"] {
            XCTAssertTrue(out.contains("\(split) SE "), out)
            XCTAssertTrue(out.contains("confusion matrix of the last epoch on \(split)"), out)
        }
        XCTAssertTrue(out.contains("best epoch "), out)
        XCTAssertTrue(out.contains("Wheeze+Crackle"), out)
        let result = try RunResult.read(path: dir + "/run/result.json")
        XCTAssertEqual(result.task, "1-2")
        XCTAssertEqual(result.options.model.numClasses, 7)
        XCTAssertEqual(result.last.tests?.map(\.split), ["inter_test", "intra_test", "test2024"])
        XCTAssertEqual(result.last.tests?.map(\.rows), [14, 14, 8])
        XCTAssertEqual(result.last.confusion.joined().reduce(0, +), 28, "the selection (inter_test + intra_test) pooled")
        let log = try String(contentsOfFile: dir + "/run/log.jsonl", encoding: .utf8)
        XCTAssertTrue(log.contains("\"harmonicScore\""), log)

        // --resume holds the run to its task.
        let otherTask = try Fixtures.run("train", ["--shards", dir + "/shards", "--resume", "--task", "2-1", "--output", dir + "/run"])
        XCTAssertNotEqual(otherTask.status, 0)
        XCTAssertTrue(otherTask.stderr.contains("is a run with --task 1-2; this command asks for --task 2-1"), otherTask.stderr)

        let evaluated = try Fixtures.run("train", ["--shards", dir + "/shards", "--eval", "--checkpoint", dir + "/run/last.pth", "--device", "cpu"])
        XCTAssertEqual(evaluated.status, 0, evaluated.stderr)
        XCTAssertTrue(evaluated.stdout.contains("task 1-2, on sprsound-synthetic"), evaluated.stdout)
        XCTAssertTrue(evaluated.stdout.contains("inter_test (14 rows): SE "), evaluated.stdout)
        XCTAssertTrue(evaluated.stdout.contains("selection (inter_test, intra_test): Score "), evaluated.stdout)
        // The evaluated numbers are the last epoch's.
        let last = try XCTUnwrap(result.last.tests?.first)
        XCTAssertTrue(evaluated.stdout.contains(String(format: "inter_test (14 rows): SE %.2f  SP %.2f", last.sensitivity, last.specificity)), evaluated.stdout)
        let predictions = try Fixtures.run("train", ["--shards", dir + "/shards", "--eval", "--checkpoint", dir + "/run/last.pth", "--device", "cpu",
                                                     "--predictions", dir + "/p.csv"])
        XCTAssertEqual(predictions.status, 0, predictions.stderr)
        // One row per test row of every test split, the task's class names, the split named last.
        let lines = try String(contentsOfFile: dir + "/p.csv", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.first, "recording,start,end,p_Normal,p_Rhonchi,p_Wheeze,p_Stridor,p_Coarse Crackle,p_Fine Crackle,p_Wheeze+Crackle,predicted,split")
        XCTAssertEqual(lines.dropFirst().map { $0.split(separator: ",").last.map(String.init) ?? "" },
                       Array(repeating: "inter_test", count: 14) + Array(repeating: "intra_test", count: 14) + Array(repeating: "test2024", count: 8))
        let json = dir + "/p.json"
        let asJSON = try Fixtures.run("train", ["--shards", dir + "/shards", "--eval", "--checkpoint", dir + "/run/last.pth", "--device", "cpu",
                                                "--predictions", json])
        XCTAssertEqual(asJSON.status, 0, asJSON.stderr)
        let document = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: json))) as? [String: Any])
        XCTAssertEqual(document["task"] as? String, "1-2")
        XCTAssertEqual((document["rows"] as? [[String: Any]])?.count, 36)
        XCTAssertEqual((document["rows"] as? [[String: Any]])?.first?["split"] as? String, "inter_test")
    }

    /// 2-1 with a seed sweep: record rows only, test2024 (no record labels) left out and said;
    /// `train report` tabulates SE/SP/AS/HS/Score per test split.
    func testRecordTaskTwoOneSweepAndReport() throws {
        let dir = try Fixtures.scratchDirectory("task-2-1")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try SyntheticSPRSoundShards.write(to: dir + "/shards")
        let sweep = try Fixtures.run("train", ["--shards", dir + "/shards", "--task", "2-1", "--model", "ast-tiny", "--method", "ce",
                                               "--seed", "1-2", "--epochs", "1", "--batch-size", "8", "--threads", "1", "--device", "cpu",
                                               "--output", dir + "/sweep"])
        XCTAssertEqual(sweep.status, 0, sweep.stderr + sweep.stdout)
        let log = try String(contentsOfFile: dir + "/sweep/ce/official/seed-1/train.log", encoding: .utf8)
        XCTAssertTrue(log.contains("test2024: no rows of task 2-1, not a test of this run"), log)
        XCTAssertTrue(log.contains("30 train rows; test rows inter_test 10, intra_test 10"), log)
        let result = try RunResult.read(path: dir + "/sweep/ce/official/seed-2/result.json")
        XCTAssertEqual(result.options.model.numClasses, 3)
        XCTAssertEqual(result.last.tests?.map(\.split), ["inter_test", "intra_test"])

        let report = try Fixtures.run("train", ["report", dir + "/sweep"])
        XCTAssertEqual(report.status, 0, report.stderr)
        let md = try String(contentsOfFile: dir + "/sweep/results.md", encoding: .utf8)
        XCTAssertTrue(md.contains("task 2-1"), md)
        XCTAssertTrue(md.contains("| method | test | n | SE | SP | AS | HS | Score | per-seed Score |"), md)
        XCTAssertTrue(md.contains("| ce | inter_test | 2 |"), md)
        XCTAssertTrue(md.contains("| ce | intra_test | 2 |"), md)
        XCTAssertTrue(md.contains("| ce | selection mean | 2 |"), md)
        let json = try String(contentsOfFile: dir + "/sweep/results.json", encoding: .utf8)
        XCTAssertTrue(json.contains("\"harmonicScore\""), json)

        // --emit: the job's tasks run the same command line, --task included.
        let emitted = try Fixtures.run("train", ["--shards", dir + "/shards", "--task", "2-1", "--model", "ast-tiny", "--method", "ce",
                                                 "--seed", "1-3", "--emit", "slurm", "--output", dir + "/job"])
        XCTAssertEqual(emitted.status, 0, emitted.stderr)
        let script = try String(contentsOfFile: dir + "/job/sweep.sbatch", encoding: .utf8)
        XCTAssertTrue(script.contains("--task 2-1"), script)
        let k8s = try Fixtures.run("train", ["--shards", dir + "/shards", "--task", "2-1", "--model", "ast-tiny", "--method", "ce",
                                             "--seed", "1-3", "--emit", "k8s", "--output", dir + "/k8s"])
        XCTAssertEqual(k8s.status, 0, k8s.stderr)
        let manifest = try String(contentsOfFile: dir + "/k8s/sweep-job.yaml", encoding: .utf8)
        XCTAssertTrue(manifest.contains("\"--task\", \"2-1\""), manifest)
    }

    func testTaskErrors() throws {
        let dir = try Fixtures.scratchDirectory("task-errors")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try SyntheticSPRSoundShards.write(to: dir + "/sprsound")
        try SyntheticShards.write(to: dir + "/icbhi", train: SyntheticCorpus.make(count: 8, seed: 1), test: SyntheticCorpus.make(count: 4, seed: 2))
        let common = ["--model", "ast-tiny", "--epochs", "1", "--threads", "1", "--device", "cpu", "--output", dir + "/run"]
        let cases: [([String], String)] = [
            (["--shards", dir + "/sprsound"], "is a sprsound feature set: choose its label task with --task 1-1|1-2|2-1|2-2"),
            (["--shards", dir + "/icbhi", "--task", "1-1"], "--task 1-1: \(dir)/icbhi is an icbhi feature set without label tasks"),
            (["--shards", dir + "/sprsound", "--task", "9-9"], "--task 9-9: \(dir)/sprsound has the tasks 1-1|1-2|2-1|2-2"),
            (["--shards", dir + "/sprsound", "--task", "1-2", "--classes", "2"], "--classes is ICBHI's (4 or 2); --task 1-2 takes its classes from the feature set"),
            (["--shards", dir + "/sprsound", "--task", "1-2", "--test-fold", "1"], "--test-fold is ICBHI's patient-wise folds"),
            (["--shards", dir + "/sprsound", "--task", "1-2", "--method", "dat"], "--method dat groups cycles by --meta dev"),
        ]
        for (arguments, expected) in cases {
            let run = try Fixtures.run("train", arguments + common)
            XCTAssertNotEqual(run.status, 0, arguments.joined(separator: " "))
            XCTAssertTrue(run.stderr.contains(expected), "\(arguments): \(run.stderr)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/run/last.pth"))
    }
}
