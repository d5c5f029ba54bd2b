import Foundation
import TestSupport
import Training
import TrainingTestSupport
import XCTest

/// `train`'s subcommands: `train --help` lists them, each has help of its own, fitting stays
/// the default (`train --shards ...`), and the earlier flag spellings (`--eval`,
/// `--inspect-checkpoint`, `--benchmark-steps`) do exactly what the subcommands do.
final class TrainSubcommandTests: XCTestCase {
    func testHelpListsTheSubcommandsAndEachHasItsOwn() throws {
        let help = try Fixtures.run("train", ["--help"])
        XCTAssertEqual(help.status, 0, help.stderr)
        let subcommands = help.stdout.components(separatedBy: "SUBCOMMANDS:").last ?? ""
        for name in ["fit", "eval", "inspect", "benchmark", "report"] {
            XCTAssertTrue(subcommands.contains("  \(name) "), "train --help lists \(name):\n\(help.stdout)")
        }
        XCTAssertTrue(subcommands.contains("(default)"), help.stdout)
        assertParagraphsAreNotRagged(help.stdout, "train --help")

        let expected: [String: [String]] = [
            "fit": ["--shards", "--seed", "--method", "--parallel", "--emit", "--resume", "--amp"],
            "eval": ["--checkpoint", "--shards", "--predictions", "--heads", "--device"],
            "inspect": ["<checkpoint>", "--heads", "--pos-embed"],
            "benchmark": ["--steps", "--shards", "--model", "--batch-size", "--amp"],
            "report": ["<directories>", "--output"],
        ]
        for (name, options) in expected {
            let sub = try Fixtures.run("train", [name, "--help"])
            XCTAssertEqual(sub.status, 0, "\(name): \(sub.stderr)")
            XCTAssertTrue(sub.stdout.contains("USAGE: train \(name)"), "\(name):\n\(sub.stdout)")
            for option in options { XCTAssertTrue(sub.stdout.contains(option), "train \(name) --help names \(option):\n\(sub.stdout)") }
            assertParagraphsAreNotRagged(sub.stdout, "train \(name) --help")
        }
        // The earlier spellings are accepted, not advertised.
        let fit = try Fixtures.run("train", ["fit", "--help"]).stdout
        // Every option `--resume` holds a checkpoint to is one `fit` takes, under that spelling.
        for field in ResumeCheck.fields {
            XCTAssertTrue(fit.contains("  \(field.option) ") || fit.contains("  \(field.option)\n"), "train fit --help has \(field.option)")
        }
        for hidden in ["--eval", "--inspect-checkpoint", "--benchmark-steps", "--sweep-parent"] {
            XCTAssertFalse(fit.contains(hidden + " "), "train fit --help hides \(hidden)")
        }
    }

    /// Text the parser wraps itself: within a paragraph every line but the last is long
    /// (a hard line break in the source shows as a short line in the middle of a paragraph).
    private func assertParagraphsAreNotRagged(_ help: String, _ context: String, file: StaticString = #filePath, line: UInt = #line) {
        let overview = help.components(separatedBy: "USAGE:").first ?? ""
        for paragraph in overview.components(separatedBy: "\n\n") {
            let lines = paragraph.split(separator: "\n", omittingEmptySubsequences: true)
            for text in lines.dropLast() where text.count < 50 {
                XCTFail("\(context): short line inside a paragraph: '\(text)'\n\(paragraph)", file: file, line: line)
            }
        }
    }

    func testFittingIsTheDefaultAndSubcommandsDispatch() throws {
        let dir = try Fixtures.scratchDirectory("subcommands")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try SyntheticShards.write(to: dir + "/shards", train: SyntheticCorpus.make(count: 24, seed: 1),
                                  test: SyntheticCorpus.make(count: 12, seed: 2))
        let common = ["--shards", dir + "/shards", "--model", "ast-tiny", "--epochs", "1", "--batch-size", "8", "--threads", "1", "--device", "cpu"]
        // `train --shards` and `train fit --shards`: the same run, the same log.
        let implicit = try Fixtures.run("train", common + ["--output", dir + "/implicit"])
        XCTAssertEqual(implicit.status, 0, implicit.stderr)
        let explicit = try Fixtures.run("train", ["fit"] + common + ["--output", dir + "/explicit"])
        XCTAssertEqual(explicit.status, 0, explicit.stderr)
        XCTAssertEqual(try untimed(dir + "/implicit/log.jsonl"), try untimed(dir + "/explicit/log.jsonl"))

        // eval: the subcommand and `--eval` print the same figures. (Their --predictions, on a
        // feature set with recordings: PredictCommandTests.)
        let checkpoint = dir + "/implicit/last.pth"
        let evaluated = try Fixtures.run("train", ["eval", "--checkpoint", checkpoint, "--shards", dir + "/shards", "--device", "cpu"])
        XCTAssertEqual(evaluated.status, 0, evaluated.stderr)
        XCTAssertTrue(evaluated.stdout.contains("Sp "), evaluated.stdout)
        let earlier = try Fixtures.run("train", ["--shards", dir + "/shards", "--eval", "--checkpoint", checkpoint, "--device", "cpu"])
        XCTAssertEqual(earlier.status, 0, earlier.stderr)
        XCTAssertEqual(evaluated.stdout, earlier.stdout)

        // inspect: the same report (the peak memory lines aside).
        let inspected = try Fixtures.run("train", ["inspect", checkpoint, "--device", "cpu", "--threads", "1"])
        XCTAssertEqual(inspected.status, 0, inspected.stderr)
        let inspectedEarlier = try Fixtures.run("train", ["--inspect-checkpoint", checkpoint, "--device", "cpu", "--threads", "1"])
        XCTAssertEqual(inspectedEarlier.status, 0, inspectedEarlier.stderr)
        XCTAssertEqual(withoutMemory(inspected.stdout), withoutMemory(inspectedEarlier.stdout))
        XCTAssertTrue(inspected.stdout.contains("loaded: "), inspected.stdout)

        // benchmark: one JSON line on stdout, the device on stderr, as `--benchmark-steps`.
        let bench = ["--shards", "random", "--model", "ast-tiny", "--batch-size", "2", "--threads", "1", "--device", "cpu"]
        for arguments in [["benchmark", "--steps", "1"] + bench, bench + ["--benchmark-steps", "1"]] {
            let measured = try Fixtures.run("train", arguments)
            XCTAssertEqual(measured.status, 0, "\(arguments): \(measured.stderr)")
            let lines = measured.stdout.split(separator: "\n")
            XCTAssertEqual(lines.count, 1, measured.stdout)
            let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data((lines.first ?? "").utf8)) as? [String: Any])
            XCTAssertEqual(object["steps"] as? Int, 1)
            XCTAssertEqual(object["batchSize"] as? Int, 2)
            XCTAssertEqual(object["preset"] as? String, "ast-tiny")
            XCTAssertTrue(measured.stderr.contains("device: cpu"), measured.stderr)
        }

        // Failures keep their statuses: a missing checkpoint is exit 1 with one line either way;
        // a usage error is 64.
        let missing = try Fixtures.run("train", ["inspect", dir + "/none.pth"])
        XCTAssertEqual(missing.status, 1)
        XCTAssertEqual(missing.stderr, try Fixtures.run("train", ["--inspect-checkpoint", dir + "/none.pth"]).stderr)
        XCTAssertTrue(missing.stderr.hasPrefix("train: error: ") && missing.stderr.contains("no such checkpoint"), missing.stderr)
        for usage in [["eval", "--shards", dir + "/shards"], ["benchmark", "--steps", "0", "--shards", "random"],
                      ["benchmark", "--steps", "1", "--shards", "random", "--seed", "1-2"], ["inspect"], ["eval", "--checkpoint", "x", "--shards", "y", "--heads", "0"]] {
            let refused = try Fixtures.run("train", usage)
            XCTAssertEqual(refused.status, 64, "\(usage): \(refused.stderr)")
            XCTAssertEqual(refused.stdout, "", "\(usage)")
        }
    }

    /// A sweep hands its runs the options it was given, spelled so that `train` parses them: the
    /// command of an emitted job, with every run option, runs up to its own sweep-index check.
    func testAnEmittedSweepsRunsParseEveryStatedOption() throws {
        let dir = try Fixtures.scratchDirectory("emit-options")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try SyntheticShards.write(to: dir + "/shards", train: SyntheticCorpus.make(count: 24, seed: 1),
                                  test: SyntheticCorpus.make(count: 12, seed: 2))
        let options = ["--model", "ast-tiny", "--method", "ce,patchmix", "--seed", "1-2", "--test-fold", "0", "--heads", "2",
                       "--pos-embed", "aligned", "--alpha", "0.5", "--temperature", "0.07", "--mix-beta", "2", "--negative-pair", "diff_label",
                       "--meta", "dev", "--meta-file", "meta.txt", "--target-type", "project1_project2block", "--proj-dim", "32",
                       "--lr", "0.0001", "--weight-decay", "0", "--batch-size", "4", "--epochs", "2", "--ma-beta", "0.25", "--classes", "2",
                       "--no-spec-augment", "--keep-last-batch", "--class-weighted-loss", "--weighted-sampler", "--no-amp"]
        let emitted = try Fixtures.run("train", ["--shards", dir + "/shards", "--output", dir + "/sweep", "--emit", "slurm",
                                                 "--threads", "1", "--parallel", "2"] + options)
        XCTAssertEqual(emitted.status, 0, emitted.stderr)
        let script = try String(contentsOfFile: dir + "/sweep/sweep.sbatch", encoding: .utf8)
        for option in options where option.hasPrefix("--") {
            XCTAssertTrue(script.contains(" \(option) "), "the runs get \(option):\n\(script)")
        }
        // The run's command as the job runs it, with an index outside the sweep: parsed and
        // validated whole, then refused by the sweep.
        let line = try XCTUnwrap(script.split(separator: "\n").first { $0.hasPrefix("exec ") })
        for sweepOnly in ["--emit", "--parallel"] { XCTAssertFalse(line.contains(sweepOnly), String(line)) }
        let words = try XCTUnwrap(shellWords(String(line.dropFirst("exec ".count))))
        let run = try Fixtures.run(executableAt: words[0], Array(words.dropFirst()).map { $0 == "$SLURM_ARRAY_TASK_ID" ? "9" : $0 })
        XCTAssertEqual(run.status, 1, run.stderr)
        XCTAssertTrue(run.stderr.contains("--sweep-index 9 is outside this sweep's 0-3 (4 runs)"), run.stderr)
    }

    /// Splits a line of the emitted script (words in single quotes or bare, "$VAR" in double quotes).
    private func shellWords(_ line: String) -> [String]? {
        var words: [String] = [], word = "", quote: Character? = nil, inWord = false
        for c in line {
            if let q = quote {
                if c == q { quote = nil } else { word.append(c) }
            } else if c == "'" || c == "\"" {
                quote = c
                inWord = true
            } else if c == " " {
                if inWord { words.append(word) }
                word = ""
                inWord = false
            } else {
                word.append(c)
                inWord = true
            }
        }
        if inWord { words.append(word) }
        return quote == nil ? words : nil
    }

    private func untimed(_ path: String) throws -> [NSDictionary] {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map { line in
            let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            return object.filter { !["trainSeconds", "evalSeconds", "dataWaitFraction"].contains($0.key) } as NSDictionary
        }
    }

    private func withoutMemory(_ text: String) -> [Substring] {
        text.split(separator: "\n").filter { !$0.contains("resident memory") && !$0.hasPrefix("of which loading") }
    }
}
