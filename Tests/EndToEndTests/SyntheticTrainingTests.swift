import Foundation
import TestSupport
import XCTest

/// Issue 4, acceptance 4: on shards made from an ICBHI-shaped synthetic corpus with audible
/// crackles and wheezes, the small preset (`ast-tiny`, Patch-Mix CL) trained for a few minutes on
/// CPU reaches an ICBHI score of at least 80 on the test split; the same model untrained (learning
/// rate 0) does not. Real binaries end to end.
///
/// It runs the release `prep` and `train` (`.build/release`, which `make test` builds before the
/// tests); without them it fails at once, saying to run `make test` or `swift build -c release
/// --product train --product prep`. Cycles are cut/padded to 4 s instead of the paper's 8 s: ast-tiny
/// then sees 8 x 24 patches instead of 8 x 49, a quarter of the attention cost, and trains 8 epochs
/// instead of the preset's 5. Measured on this 2-core machine (2026-12-01), 300 recordings: 8 s and
/// 5 epochs scored 88.2 after 299 s of training; 4 s and 5 epochs 72.9 (146 s); 4 s and 8 epochs
/// 90.6 (81.1 from epoch 4 on; about 14 s an epoch on a quiet machine). Smaller corpora do not
/// reach 80 (8 s, 5 epochs: 200 recordings 67.0, 120 recordings 56.3).
final class SyntheticTrainingTests: PrepTestCase {
    private func bestScore(_ log: String) throws -> Double {
        let records = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").map {
            try XCTUnwrap(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
        return records.filter { ($0["sensitivity"] as? Double ?? 0) > 5 }.compactMap { $0["score"] as? Double }.max() ?? 0
    }

    @discardableResult
    private func run(_ executable: String, _ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws -> ProcessOutput {
        let result = try Fixtures.run(executableAt: executable, arguments, in: workspace)
        XCTAssertEqual(result.status, 0, "\(executable) \(arguments.joined(separator: " ")):\n\(result)", file: file, line: line)
        return result
    }

    func testSmallPresetLearnsTheSyntheticCorpus() throws {
        let prep = try Fixtures.releaseExecutable("prep"), train = try Fixtures.releaseExecutable("train")
        let recordings = 300
        let corpus = workspace + "/synthetic"
        let prepared = Date()
        try run(prep, ["synth", "--out", corpus, "--recordings", "\(recordings)", "--seed", "1",
                       "--metadata", Fixtures.metadataDirectory, "--sample-rate-override", "16000"])
        try run(prep, ["ingest", corpus, "--cache", cache, "--manifests", manifests, "--metadata", Fixtures.metadataDirectory])
        try run(prep, ["features", "--name", "synthetic", "--length", "4", "--cache", cache, "--manifests", manifests])
        let shards = cache + "/synthetic"
        let preparation = Date().timeIntervalSince(prepared)

        try run(train, ["--shards", shards, "--model", "ast-tiny", "--epochs", "1", "--lr", "0", "--output", workspace + "/untrained"])
        let started = Date()
        let trained = try run(train, ["--shards", shards, "--model", "ast-tiny", "--epochs", "8", "--output", workspace + "/run"])
        let before = try bestScore(workspace + "/untrained/log.jsonl")
        let after = try bestScore(workspace + "/run/log.jsonl")
        print(String(format: "synthetic corpus (%d recordings, release binaries): synth+ingest+features %.0f s; "
                     + "untrained score %.2f, trained ast-tiny %.2f after %.0f s of training",
                     recordings, preparation, before, after, Date().timeIntervalSince(started)))
        XCTAssertLessThan(before, 80)
        XCTAssertGreaterThanOrEqual(after, 80, trained.stdout)
    }
}
