import Foundation
import HDF5
import TestSupport
import Training
import TrainingTestSupport
import XCTest

/// The `train` binary with real-world checkpoints: --init from each AudioSet format, --eval of
/// the paper code's checkpoint, preset disagreements, corrupted files. (Our checkpoints in the
/// paper code's loading path: TrainingTests.CheckpointInterchangeTests.)
final class CheckpointCommandTests: XCTestCase {
    override func setUp() { Torch.threads = 1 }

    /// log.jsonl with its timing fields zeroed.
    func logWithoutTimings(_ directory: String) throws -> [EpochRecord] {
        let text = try String(contentsOfFile: directory + "/log.jsonl", encoding: .utf8)
        return try text.split(separator: "\n").map { line in
            var record = try JSONDecoder().decode(EpochRecord.self, from: Data(line.utf8))
            record.trainSeconds = 0
            record.evalSeconds = 0
            record.dataWaitFraction = 0
            return record
        }
    }

    func testOneEpochFromEachAudioSetFormatGivesTheSameLog() throws {
        let root = try Fixtures.scratchDirectory("init-formats")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let shards = root + "/shards"
        try SyntheticShards.write(to: shards, train: SyntheticCorpus.make(count: 24, seed: 1), test: SyntheticCorpus.make(count: 10, seed: 2))
        func run(_ checkpoint: String, _ name: String, _ extra: [String] = []) throws -> String {
            let out = root + "/" + name
            let result = try Fixtures.run("train", ["--shards", shards, "--init", checkpoint, "--epochs", "1", "--batch-size", "4",
                                                    "--heads", "4", "--threads", "1", "--seed", "3", "--device", "cpu", "--output", out] + extra)
            XCTAssertEqual(result.status, 0, result.stderr)
            XCTAssertTrue(result.stdout.contains("model from \(checkpoint): D 64, 2 blocks, 4 heads, strides 10/10"), result.stdout)
            return out
        }
        let runs = try zip(CheckpointFixtures.audioSetLayouts, ["zip", "legacy", "plain"]).map { try run($0, $1) }
        let logs = try runs.map(logWithoutTimings)
        XCTAssertEqual(logs[0].count, 1)
        XCTAssertEqual(logs[0][0].posEmbed, .paper)
        XCTAssertEqual(logs[0][0].steps, 6)
        XCTAssertTrue(try String(contentsOfFile: runs[0] + "/log.jsonl", encoding: .utf8).contains(#""posEmbed":"paper""#))
        XCTAssertEqual(logs[0], logs[1])
        XCTAssertEqual(logs[0], logs[2])
        let meta = try CheckpointMeta.read(path: runs[0] + "/last.pth")
        XCTAssertEqual(meta.options.posEmbed, .paper)
        XCTAssertEqual(meta.options.model.heads, 4)
        XCTAssertTrue(meta.initialization?.contains("pos_embed grid 12x101 -> 4x9 (paper: 9x4 in patch order)") == true, meta.initialization ?? "nil")
        // The other init is recorded as such and is a different starting point.
        let aligned = try logWithoutTimings(try run(CheckpointFixtures.audioSetZip, "aligned", ["--pos-embed", "aligned"]))
        XCTAssertEqual(aligned[0].posEmbed, .aligned)
        XCTAssertNotEqual(aligned[0].trainLoss, logs[0][0].trainLoss)
    }

    /// --init from one of our own checkpoints takes its stated shape (strides 16, 4 heads), head and projector.
    func testInitFromOurCheckpointKeepsItsShape() throws {
        let root = try Fixtures.scratchDirectory("init-ours")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let shards = root + "/shards"
        try SyntheticShards.write(to: shards, train: SyntheticCorpus.make(count: 16, seed: 1), test: SyntheticCorpus.make(count: 6, seed: 2))
        let common = ["--shards", shards, "--epochs", "1", "--batch-size", "4", "--threads", "1", "--device", "cpu"]
        let first = try Fixtures.run("train", common + ["--model", "ast-tiny", "--output", root + "/a"])
        XCTAssertEqual(first.status, 0, first.stderr)
        for extra in [[], ["--model", "ast-tiny"]] {
            let second = try Fixtures.run("train", common + ["--init", root + "/a/last.pth", "--output", root + "/b"] + extra)
            XCTAssertEqual(second.status, 0, second.stderr)
            XCTAssertTrue(second.stdout.contains("D 64, 2 blocks, 4 heads, strides 16/16"), second.stdout)
            XCTAssertTrue(second.stdout.contains("head loaded, projector loaded"), second.stdout)
            try? FileManager.default.removeItem(atPath: root + "/b")
        }
    }

    func testPresetThatDisagreesWithTheCheckpointIsAnError() throws {
        let root = try Fixtures.scratchDirectory("preset-mismatch")
        defer { try? FileManager.default.removeItem(atPath: root) }
        try SyntheticShards.write(to: root + "/shards", train: SyntheticCorpus.make(count: 8, seed: 1), test: SyntheticCorpus.make(count: 4, seed: 2))
        let result = try Fixtures.run("train", ["--shards", root + "/shards", "--model", "ast-tiny", "--init", CheckpointFixtures.audioSetZip,
                                                "--epochs", "1", "--output", root + "/out", "--device", "cpu"])
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.stderr.contains("--model ast-tiny (D 64, 2 blocks, MLP 256, strides 16/16) disagrees with \(CheckpointFixtures.audioSetZip) (D 64, 2 blocks, MLP 256, strides 10/10)"), result.stderr)
    }

    /// `train --eval` of the paper code's save_model() checkpoint on real ICBHI features (the
    /// golden cycles' fbanks): shape from the tensors, the same numbers as the library path.
    func testEvalOfThePaperCodeCheckpointOnRealFeatures() throws {
        let root = try Fixtures.scratchDirectory("eval-official")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let golden = try HDF5File(path: Fixtures.goldenPath, mode: .readOnly)
        // The first 12 golden cycles (four real recordings) keep the test fast.
        let (fbank, shape) = try golden.read("/cycles/fbank", as: Float.self)
        let (labels, _) = try golden.read("/cycles/label", as: Int8.self)
        let n = 12
        let cycles = InMemoryCycles(frames: shape[1], bins: shape[2], labels: labels.prefix(n).map(Int.init),
                                    features: Array(fbank.prefix(n * shape[1] * shape[2])))
        try SyntheticShards.write(to: root + "/shards", train: cycles, test: cycles, featureSet: "golden-cycles")
        let result = try Fixtures.run("train", ["--eval", "--checkpoint", CheckpointFixtures.officialCheckpoint, "--heads", "4",
                                                "--shards", root + "/shards", "--threads", "1", "--device", "cpu"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.contains("paper: D 64, 2 blocks, 4 heads, strides 10/10, 4 classes"), result.stdout)
        XCTAssertTrue(result.stdout.contains("(epoch 37) on 12 test cycles of golden-cycles"), result.stdout)
        let file = try LoadedCheckpoint(path: CheckpointFixtures.officialCheckpoint)
        let model = try ASTModel(config: try file.architecture().modelConfig(frames: 798, bins: 128, heads: 4, numClasses: 4))
        try file.load(into: model, policy: .evaluate)
        let s = try evaluate(model: model, source: cycles, classes: 4).score
        XCTAssertTrue(result.stdout.contains(String(format: "Sp %.2f  Se %.2f  Score %.2f", s.specificity, s.sensitivity, s.score)), result.stdout)
    }

    /// Truncated, empty, foreign and wrong-content files: one clear line naming the file, exit 1.
    func testCorruptCheckpointsFailCleanly() throws {
        let root = try Fixtures.scratchDirectory("corrupt")
        defer { try? FileManager.default.removeItem(atPath: root) }
        try SyntheticShards.write(to: root + "/shards", train: SyntheticCorpus.make(count: 8, seed: 1), test: SyntheticCorpus.make(count: 4, seed: 2))
        let bytes = try Data(contentsOf: URL(fileURLWithPath: CheckpointFixtures.audioSetZip))
        try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: root + "/truncated.pth"))
        try Data().write(to: URL(fileURLWithPath: root + "/empty.pth"))
        try Fixtures.python("""
            import sys, torch, zipfile
            d = sys.argv[1]
            torch.save([1, 2, 3], d + '/list.pth')
            torch.save({'weights': torch.ones(3)}, d + '/other.pth')
            with zipfile.ZipFile(d + '/random.pth', 'w') as z: z.writestr('a/b.txt', 'x')
            """, [root])
        let cases = [("truncated.pth", "no end-of-central-directory record"), ("empty.pth", "empty file"),
                     ("list.pth", "holds a list, not a state dict"), ("other.pth", "holds no AST weights"),
                     ("random.pth", "without <name>/data.pkl")]
        for (name, message) in cases {
            let path = root + "/" + name
            var runs = [["--eval", "--checkpoint", path]]
            if name == "truncated.pth" || name == "list.pth" { runs.append(["--init", path, "--epochs", "1", "--output", root + "/out"]) }
            for arguments in runs {
                let result = try Fixtures.run("train", ["--shards", root + "/shards", "--device", "cpu"] + arguments)
                XCTAssertEqual(result.status, 1, "\(arguments): \(result.stderr)")
                let lines = result.stderr.split(separator: "\n")
                XCTAssertEqual(lines.count, 1, result.stderr)
                XCTAssertTrue(result.stderr.hasPrefix("train: error: \(path): ") && result.stderr.contains(message), result.stderr)
            }
        }
    }
}
