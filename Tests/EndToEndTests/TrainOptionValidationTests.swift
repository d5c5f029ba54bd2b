import Foundation
import TestSupport
import XCTest

/// Every invalid option fails at the `train` command line: one message, exit code 64 (usage),
/// nothing written. The rules are `TrainingOptions.validate`'s; the command only forwards (the
/// library's side: TrainingTests.TrainingRunTests.testTheTrainerRefusesInvalidOptions).
final class TrainOptionValidationTests: XCTestCase {
    func testEveryInvalidOptionFailsAtTheCommandLineWithOneMessage() throws {
        let dir = try Fixtures.scratchDirectory("options")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let cases: [(arguments: [String], message: String)] = [
            (["--batch-size", "1"], "--batch-size must be at least 2"),
            (["--epochs", "0"], "--epochs must be at least 1"),
            (["--classes", "3"], "--classes must be 4 or 2"),
            (["--heads", "0"], "--heads must be at least 1"),
            (["--heads", "0", "--init", dir + "/none.pth"], "--heads must be at least 1"),
            (["--heads", "5"], "--heads 5 does not divide the model width 64"),
            (["--lr=-1e-3"], "--lr must be a number >= 0"),
            (["--lr", "nan"], "--lr must be a number >= 0"),
            (["--weight-decay=-1"], "--weight-decay must be a number >= 0"),
            (["--ma-beta", "1"], "--ma-beta must be in [0, 1)"),
            (["--alpha=-0.5"], "--alpha must be a number >= 0"),
            (["--temperature", "0"], "--temperature must be positive"),
            (["--mix-beta", "0"], "--mix-beta must be positive"),
            (["--device", "tpu"], "--device must be cpu or cuda"),
            (["--test-fold", "7"], "--test-fold 7: folds are 0-4"),
            (["--seed", "3-1"], "--seed"),
            (["--method", "mixup"], "mixup"),
            (["--model", "ast-huge"], "unknown --model ast-huge"),
            // A rule broken by one run of a sweep fails the whole command before any run starts.
            (["--method", "ce,patchmix_cl", "--seed", "1-2", "--temperature", "0"], "--temperature must be positive"),
            (["--threads", "0"], "--threads must be at least 1"),
            (["--eval"], "--eval needs --checkpoint"),
        ]
        for (arguments, message) in cases {
            let output = dir + "/run"
            let result = try Fixtures.run("train", ["--shards", dir + "/shards", "--model", "ast-tiny", "--output", output]
                                                   + arguments)
            let context = arguments.joined(separator: " ")
            XCTAssertEqual(result.status, 64, "\(context): exit status (usage error)\n\(result.stderr)")
            let errors = result.stderr.split(separator: "\n").filter { $0.hasPrefix("Error: ") }
            XCTAssertEqual(errors.count, 1, "\(context): one message\n\(result.stderr)")
            XCTAssertTrue(errors.first?.contains(message) ?? false, "\(context): expected \(message)\n\(result.stderr)")
            XCTAssertEqual(result.stdout, "", context)
            XCTAssertFalse(FileManager.default.fileExists(atPath: output), "\(context): nothing written")
        }
    }

    /// Edge values that are valid pass validation (and fail later only for the missing shards):
    /// --lr 0 is the untrained baseline of scripts/train_synthetic.sh.
    func testValidEdgeValuesPassTheCommandLine() throws {
        let dir = try Fixtures.scratchDirectory("edges")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for arguments in [["--lr", "0"], ["--ma-beta", "0"], ["--alpha", "0"], ["--weight-decay", "0"], ["--classes", "2"]] {
            let result = try Fixtures.run("train", ["--shards", dir + "/none", "--model", "ast-tiny", "--output", dir + "/run"] + arguments)
            XCTAssertEqual(result.status, 1, "\(arguments): \(result.stderr)")
            XCTAssertTrue(result.stderr.contains("no index.json"), "\(arguments): \(result.stderr)")
        }
    }
}
