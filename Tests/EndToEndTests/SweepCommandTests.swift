import Foundation
import TestSupport
import Training
import TrainingTestSupport
import XCTest

/// Sweeps through the `train` binary: a seed sweep equals standalone runs and its table equals
/// the logs, `--parallel`, a killed sweep resumes, training from a read-only feature set. (Plans,
/// folds, the results table and cluster jobs as library code: TrainingTests.SweepTests.)
final class SweepCommandTests: XCTestCase {
    /// Strips the timing fields of a log.jsonl (the only fields allowed to differ).
    func untimed(_ path: String) throws -> [NSDictionary] {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map { line in
            let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            return object.filter { !["trainSeconds", "evalSeconds", "dataWaitFraction"].contains($0.key) } as NSDictionary
        }
    }

    func testSeedSweepEqualsStandaloneRunsAndItsTableEqualsTheLogs() throws {
        let dir = try Fixtures.scratchDirectory("sweep")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try SyntheticShards.write(to: dir + "/shards", train: SyntheticCorpus.make(count: 40, seed: 1),
                                  test: SyntheticCorpus.make(count: 20, seed: 2))
        let common = ["--shards", dir + "/shards", "--model", "ast-tiny", "--epochs", "2", "--method", "patchmix_cl"]
        let sweep = try Fixtures.run("train", common + ["--seed", "1-3", "--output", dir + "/sweep"])
        XCTAssertEqual(sweep.status, 0, sweep.stdout + sweep.stderr)
        for s in 1...3 {
            let alone = try Fixtures.run("train", common + ["--seed", "\(s)", "--output", dir + "/alone-\(s)"])
            XCTAssertEqual(alone.status, 0, alone.stderr)
            XCTAssertEqual(try untimed(dir + "/sweep/patchmix_cl/official/seed-\(s)/log.jsonl"),
                           try untimed(dir + "/alone-\(s)/log.jsonl"), "seed \(s)")
        }
        let report = try Fixtures.run("train", ["report", dir + "/sweep"])
        XCTAssertEqual(report.status, 0, report.stderr)
        // Recompute the row from the logs: best epoch = highest score with Se > 5.
        var bests: [Double] = []
        for s in 1...3 {
            let epochs = try untimed(dir + "/sweep/patchmix_cl/official/seed-\(s)/log.jsonl")
            let eligible = epochs.filter { ($0["sensitivity"] as! Double) > 5 }
            let best = eligible.max { ($0["score"] as! Double) < ($1["score"] as! Double) } ?? epochs.last!
            bests.append(best["score"] as! Double)
        }
        let mean = bests.reduce(0, +) / 3
        let std = (bests.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 2).squareRoot()
        let md = try String(contentsOfFile: dir + "/sweep/results.md", encoding: .utf8)
        XCTAssertTrue(md.contains(String(format: "| %.2f ± %.2f |", mean, std)), "\(bests) in\n\(md)")
        XCTAssertTrue(md.contains(zip(1...3, bests).map { String(format: "s%d: %.2f", $0.0, $0.1) }.joined(separator: ", ")), md)
        let json = try JSONDecoder().decode(ResultsTable.self, from: Data(contentsOf: URL(fileURLWithPath: dir + "/sweep/results.json")))
        XCTAssertEqual(json.rows.first?.best.score.values, bests)

        // --parallel 2 gives the same results.
        let parallel = try Fixtures.run("train", common + ["--seed", "1-3", "--output", dir + "/parallel", "--parallel", "2"])
        XCTAssertEqual(parallel.status, 0, parallel.stdout + parallel.stderr)
        for s in 1...3 {
            XCTAssertEqual(try untimed(dir + "/parallel/patchmix_cl/official/seed-\(s)/log.jsonl"),
                           try untimed(dir + "/sweep/patchmix_cl/official/seed-\(s)/log.jsonl"), "seed \(s)")
        }
        // A report mixing two feature sets is refused, naming them.
        try SyntheticShards.write(to: dir + "/other", train: SyntheticCorpus.make(count: 40, seed: 5),
                                  test: SyntheticCorpus.make(count: 20, seed: 6), featureSet: "other", id: "feedbeef")
        let other = try Fixtures.run("train", common + ["--shards", dir + "/other", "--seed", "1", "--output", dir + "/o"])
        XCTAssertEqual(other.status, 0, other.stderr)
        let mixed = try Fixtures.run("train", ["report", dir + "/sweep", dir + "/o", "--output", dir + "/mixed"])
        XCTAssertEqual(mixed.status, 1)
        XCTAssertTrue(mixed.stderr.contains("feedbeef") && mixed.stderr.contains("0123abcd"), mixed.stderr)
    }

    func testKilledSweepResumesAndLeavesFinishedRunsUntouched() throws {
        let dir = try Fixtures.scratchDirectory("kill")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try SyntheticShards.write(to: dir + "/shards", train: SyntheticCorpus.make(count: 40, seed: 1),
                                  test: SyntheticCorpus.make(count: 20, seed: 2))
        let args = ["--shards", dir + "/shards", "--model", "ast-tiny", "--epochs", "3", "--method", "ce",
                    "--seed", "1-3", "--output", dir + "/sweep"]
        let pgrep = try Fixtures.tool("pgrep")
        let sweep = try RunningProcess(executableAt: Fixtures.executable("train"), args)
        let pid = sweep.process.processIdentifier
        // Kill everything once seed 1 is finished and seed 2 has checkpointed an epoch: on that
        // event, not after a deadline (a slow host needs longer, and a deadline would kill early).
        // The sweep is stopped first, so that it starts no new run, then its runs, then itself:
        // killed first, it would leave its runs orphaned (`pkill -P` no longer finds them).
        let landed = sweep.killWhen {
            guard FileManager.default.fileExists(atPath: dir + "/sweep/ce/official/seed-2/last.pth") else { return false }
            kill(pid, SIGSTOP)
            let children = Fixtures.system([pgrep, "-P", String(pid)]).output
            for child in children.split(whereSeparator: \.isWhitespace).compactMap({ Int32($0) }) { kill(child, SIGKILL) }
            return true
        }
        XCTAssertTrue(landed, "the sweep ended before seed 2 had checkpointed an epoch")
        _ = sweep.finish()
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/sweep/ce/official/seed-1/result.json"))
        let finished = dir + "/sweep/ce/official/seed-1"
        let before = try FileManager.default.contentsOfDirectory(atPath: finished).sorted().map {
            ($0, try Data(contentsOf: URL(fileURLWithPath: finished + "/" + $0)))
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/sweep/ce/official/seed-3/result.json"))

        let rerun = try Fixtures.run("train", args)
        XCTAssertEqual(rerun.status, 0, rerun.stdout + rerun.stderr)
        XCTAssertTrue(rerun.stdout.contains("ce/official/seed-1: finished, left as is"), rerun.stdout)
        let after = try FileManager.default.contentsOfDirectory(atPath: finished).sorted().map {
            ($0, try Data(contentsOf: URL(fileURLWithPath: finished + "/" + $0)))
        }
        XCTAssertEqual(before.map(\.0), after.map(\.0))
        XCTAssertEqual(before.map(\.1), after.map(\.1), "finished run untouched, byte for byte")
        for s in 2...3 {
            let run = dir + "/sweep/ce/official/seed-\(s)"
            XCTAssertTrue(FileManager.default.fileExists(atPath: run + "/result.json"), "seed \(s) completed")
            let alone = try Fixtures.run("train", Array(args.dropLast(4)) + ["--seed", "\(s)", "--output", dir + "/alone-\(s)"])
            XCTAssertEqual(alone.status, 0, alone.stderr)
            XCTAssertEqual(try untimed(run + "/log.jsonl"), try untimed(dir + "/alone-\(s)/log.jsonl"), "seed \(s)")
        }
    }

    /// Shards on a read-only file system (a read-only bind mount) train; readers take no file lock.
    func testTrainingFromAReadOnlyFeatureSet() throws {
        let dir = try Fixtures.scratchDirectory("ro")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try SyntheticShards.write(to: dir + "/shards", train: SyntheticCorpus.make(count: 20, seed: 1),
                                  test: SyntheticCorpus.make(count: 10, seed: 2))
        try FileManager.default.createDirectory(atPath: dir + "/ro", withIntermediateDirectories: true)
        // Root with mount rights: a read-only bind mount here. Without them (a container without
        // CAP_SYS_ADMIN): the same mount inside a user+mount namespace of `train`'s own.
        var wrapper: [String] = []
        if Fixtures.system(["mount", "--bind", dir + "/shards", dir + "/ro"]).status == 0 {
            let remount = Fixtures.system(["mount", "-o", "remount,bind,ro", dir + "/ro"])
            XCTAssertEqual(remount.status, 0, remount.output)
            XCTAssertFalse(FileManager.default.createFile(atPath: dir + "/ro/probe", contents: Data()), "the mount is read-only")
            print("read-only feature set: a read-only bind mount")
        } else {
            let unshare = try Fixtures.tool("unshare")
            // The probe write must fail inside the namespace, or train never starts (exit 97).
            wrapper = [unshare, "--user", "--map-root-user", "--mount", "sh", "-c",
                       #"mount --bind "$0/shards" "$0/ro" && mount -o remount,bind,ro "$0/ro" && { ! touch "$0/ro/probe" 2>/dev/null || exit 97; } && exec "$@""#, dir]
            let probe = Fixtures.system(wrapper + ["true"])
            guard probe.status == 0 else { throw XCTSkip("no mount rights and no user namespaces here: cannot make a read-only file system (\(probe.output))") }
            print("read-only feature set: a read-only bind mount in a user namespace (no mount rights here)")
        }
        defer { _ = Fixtures.system(["umount", "-l", dir + "/ro"]) }
        // Another process holding an exclusive lock on every shard does not stop a reader.
        var locks: [Int32] = []
        for name in try FileManager.default.contentsOfDirectory(atPath: dir + "/shards") where name.hasSuffix(".h5") {
            let fd = open(dir + "/shards/" + name, O_RDONLY)
            XCTAssertEqual(flock(fd, LOCK_EX | LOCK_NB), 0)
            locks.append(fd)
        }
        defer { locks.forEach { close($0) } }
        let trainArguments = ["--shards", dir + "/ro", "--model", "ast-tiny", "--epochs", "1", "--output", dir + "/run"]
        let run = wrapper.isEmpty ? try Fixtures.run("train", trainArguments)
            : try Fixtures.run(executableAt: wrapper[0], Array(wrapper.dropFirst()) + [try Fixtures.executable("train")] + trainArguments)
        XCTAssertEqual(run.status, 0, run.stdout + run.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/run/result.json"))
    }
}
