import Foundation
import TestSupport
import Training
import TrainingTestSupport
import XCTest

/// `train --deterministic` and the benchmark's operator counts, end to end on the CPU
/// (docs/gpu.md): the flag is said and changes no number on the CPU.
final class DeterministicCommandTests: XCTestCase {
    /// A run with --deterministic logs exactly the epochs (losses, scores, confusion) of the same
    /// run without it: on the CPU the kernels are deterministic either way.
    func testDeterministicChangesNothingOnTheCPU() throws {
        let dir = try Fixtures.scratchDirectory("deterministic")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try SyntheticShards.write(to: dir + "/shards", train: SyntheticCorpus.make(count: 24, seed: 3),
                                  test: SyntheticCorpus.make(count: 12, seed: 4))
        var logs: [[[String: Any]]] = []
        for flag in [[], ["--deterministic"]] {
            let out = dir + "/run\(flag.count)"
            let r = try Fixtures.run("train", ["--shards", dir + "/shards", "--model", "ast-tiny", "--epochs", "1",
                                               "--batch-size", "8", "--threads", "1", "--device", "cpu",
                                               "--output", out] + flag)
            XCTAssertEqual(r.status, 0, r.stderr)
            XCTAssertEqual(r.stdout.contains("deterministic: deterministic algorithms, cuDNN deterministic"), !flag.isEmpty,
                           r.stdout)
            let lines = try String(contentsOfFile: out + "/log.jsonl", encoding: .utf8).split(separator: "\n")
            logs.append(try lines.map { line in
                var record = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
                for timing in ["trainSeconds", "evalSeconds", "dataWaitFraction"] { record[timing] = nil }
                return record
            })
        }
        XCTAssertEqual(logs[0].count, 1)
        XCTAssertEqual(logs[0].map { NSDictionary(dictionary: $0) }, logs[1].map { NSDictionary(dictionary: $0) })
    }

    /// `--benchmark-steps` reports the operator calls of a step, and the optimizer phase's part.
    func testBenchmarkCountsOperatorCalls() throws {
        let r = try Fixtures.run("train", ["--shards", "random", "--model", "ast-tiny", "--batch-size", "2",
                                           "--benchmark-steps", "1", "--threads", "1", "--device", "cpu", "--deterministic"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("deterministic: "), r.stderr)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], r.stdout)
        let calls = try XCTUnwrap(json["operatorCalls"] as? [String: Int], r.stdout)
        let total = try XCTUnwrap(calls["total"]), optimizer = try XCTUnwrap(calls["optimizer"])
        XCTAssertGreaterThan(optimizer, 0)
        XCTAssertLessThan(optimizer, 60, "the foreach optimizer phase: a few dozen calls, not a few per parameter")
        XCTAssertGreaterThan(total, optimizer)
    }
}
