import Foundation
import TestSupport
import Training
import TrainingTestSupport
import XCTest

/// Issue #20 (hardening, round 2), the run's life cycle through the real `train` binary: job
/// files that cannot carry a path, and the size of a sweep.
final class RunLifecycleTests: XCTestCase {
    var dir = ""
    var shards: String { dir + "/shards" }
    var common: [String] { ["--shards", shards, "--model", "ast-tiny", "--threads", "1"] }

    override func setUpWithError() throws {
        dir = try Fixtures.scratchDirectory("lifecycle")
        try SyntheticShards.write(to: shards, train: SyntheticCorpus.make(count: 40, seed: 1),
                                  test: SyntheticCorpus.make(count: 20, seed: 2))
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: dir)
    }

    func exists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: path) }

    // MARK: items 3 and 5, cluster jobs and the size of a sweep

    /// Before: `--output $'x\ntouch PWNED #' --emit slurm` wrote a job file that ran `touch PWNED`,
    /// and the printed `sbatch` command was not quoted. Now the path is refused, naming it and
    /// why, with nothing written; the printed command is one shell word per argument.
    func testSlurmEmissionRefusesNewlinesAndQuotesTheCommand() throws {
        let work = dir + "/work"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        let hostile = try Fixtures.run("train", common + ["--seed", "1-2", "--output", "x\ntouch PWNED #", "--emit", "slurm"], in: work)
        XCTAssertEqual(hostile.status, 1, hostile.description)
        XCTAssertTrue(hostile.stderr.contains("--output \"x\\ntouch PWNED #\" holds a newline: a #SBATCH line cannot carry it"), hostile.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: work), [], "nothing written")

        let odd = "out dir/a\"b'c $(touch PWNED)"
        let emitted = try Fixtures.run("train", common + ["--seed", "1-2", "--output", odd, "--emit", "slurm"], in: work)
        XCTAssertEqual(emitted.status, 0, emitted.stderr)
        let line = try XCTUnwrap(emitted.stdout.split(separator: "\n").first { $0.hasPrefix("submit with: ") })
        // The printed command, pasted into a shell whose `sbatch` prints its arguments.
        let pasted = Fixtures.system(["/bin/sh", "-c", "cd \(HardeningTestCase.shellQuoted(work)) && sbatch() { printf '<%s>\\n' \"$@\"; }; "
                                      + line.dropFirst("submit with: ".count)])
        XCTAssertEqual(pasted.output, "<\(odd)/sweep.sbatch>\n", String(line))
        XCTAssertFalse(exists(work + "/PWNED"))
    }

    /// Before: `--seed 1-2000000000` enumerated quadratically and ran for ever. Now it is refused
    /// at once (the bound is checked before expanding; a guard only stops a hang).
    func testAHugeSeedRangeIsRefused() throws {
        let process = try RunningProcess(executableAt: Fixtures.executable("train"),
                                         common + ["--seed", "1-2000000000", "--output", dir + "/huge", "--emit", "slurm"])
        let guardTime = Date().addingTimeInterval(300)
        while process.process.isRunning && Date() < guardTime { usleep(50_000) }
        XCTAssertFalse(process.killNow(), "still expanding the list: killed")
        let result = process.finish().result
        XCTAssertEqual(result.status, 64, result.description)
        XCTAssertTrue(result.stderr.contains("--seed '1-2000000000': more than 10000 values; a sweep has at most 10000 runs"), result.stderr)
        XCTAssertFalse(exists(dir + "/huge"))
    }
}
