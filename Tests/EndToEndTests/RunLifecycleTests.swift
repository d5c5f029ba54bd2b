import Foundation
import TestSupport
import Training
import TrainingTestSupport
import XCTest

/// Issue #20 (hardening, round 2), the run's life cycle through the real `train` binary: where
/// `--resume` writes and what it refuses, the run directory's errors in the user's terms, a run
/// that cannot take a step, job files that cannot carry a path, and a sweep's children.
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

    /// Every file under `path` and its bytes (`.lock` included: a refused run must not even take it).
    func files(_ path: String) throws -> [String: Data] { try Fixtures.fileBytes(under: path) }

    /// An interrupted `train --model ast-tiny --epochs 3` in `directory`: epoch 1 of 3 checkpointed,
    /// trained in this process (`run(stopAfterEpoch:)`), so no kill timing is involved.
    func interruptedRun(in directory: String, method: TrainingMethod = .patchmix_cl, epochs: Int = 3, stopAfter: Int = 1) throws {
        let train = try ShardCycles(directory: shards, split: "train"), test = try ShardCycles(directory: shards, split: "test")
        var options = TrainingOptions(preset: .astTiny, outputDirectory: directory)
        options.method = method
        options.epochs = epochs
        options.model.inputFrames = train.frames
        options.model.inputBins = train.bins
        options.featureSet = train.index.featureSet
        options.featureSetID = train.index.id
        options.amp = false
        let trainer = try Trainer(options: options, train: train, test: test)
        trainer.report = { _ in }
        try trainer.run(stopAfterEpoch: stopAfter)
    }

    // MARK: item 1, --resume

    /// Before: `--resume` took the directory stored in last.pth, so a moved run was finished in
    /// its old place (recreated) and a checkpoint naming another run's directory overwrote that
    /// run. Now the run writes only into --output and says where the file was written.
    func testResumeWritesOnlyIntoTheDirectoryNamed() throws {
        try interruptedRun(in: dir + "/m1")
        try FileManager.default.moveItem(atPath: dir + "/m1", toPath: dir + "/m1moved")
        let moved = try Fixtures.run("train", common + ["--output", dir + "/m1moved", "--resume"])
        XCTAssertEqual(moved.status, 0, moved.stderr)
        XCTAssertTrue(moved.stdout.contains("resumed from \(dir)/m1moved/last.pth after epoch 1"), moved.stdout)
        XCTAssertTrue(moved.stdout.contains("the checkpoint was written in \(dir)/m1 (moved or copied since); this run writes only to \(dir)/m1moved"), moved.stdout)
        XCTAssertFalse(exists(dir + "/m1"), "the old place is not recreated")
        let result = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/m1moved/result.json"))) as? [String: Any]
        XCTAssertEqual((result?["options"] as? [String: Any])?["outputDirectory"] as? String, dir + "/m1moved")
        XCTAssertEqual(try String(contentsOfFile: dir + "/m1moved/log.jsonl", encoding: .utf8).split(separator: "\n").count, 3)

        // A checkpoint whose meta names another run's directory: that run is not touched.
        try interruptedRun(in: dir + "/victim")
        let victim = try files(dir + "/victim")
        try FileManager.default.createDirectory(atPath: dir + "/r6", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: dir + "/victim/last.pth", toPath: dir + "/r6/last.pth")
        let r6 = try Fixtures.run("train", common + ["--output", dir + "/r6", "--resume"])
        XCTAssertEqual(r6.status, 0, r6.stderr)
        XCTAssertTrue(exists(dir + "/r6/result.json"))
        XCTAssertEqual(try files(dir + "/victim"), victim, "the directory in the file's meta is left byte for byte")
    }

    /// Before: `--resume --method ce --model ast-small` ignored both options without a word.
    /// Now an option stated otherwise than the checkpoint's is refused naming both values, with
    /// nothing written; device and mixed precision may change and are said on the console.
    func testResumeRefusesOptionsThatDisagreeWithTheCheckpoint() throws {
        try interruptedRun(in: dir + "/run")
        let before = try files(dir + "/run")
        let cases: [(arguments: [String], message: String)] = [
            (["--method", "ce", "--model", "ast-small"], "is a run with --model ast-tiny; this command asks for --model ast-small"),
            (["--method=ce"], "is a run with --method patchmix_cl; this command asks for --method ce"),
            (["--seed", "2"], "is a run with --seed 1; this command asks for --seed 2"),
            (["--epochs", "5"], "is a run with --epochs 3; this command asks for --epochs 5"),
            (["--batch-size", "8"], "is a run with --batch-size 16; this command asks for --batch-size 8"),
            (["--test-fold", "1"], "is a run with test fold none (official split); this command asks for test fold 1"),
            (["--no-spec-augment"], "is a run with SpecAugment on; this command asks for SpecAugment off"),
            (["--heads", "2"], "is a run with 4 heads; this command asks for --heads 2"),
        ]
        for (arguments, message) in cases {
            let refused = try Fixtures.run("train", ["--shards", shards, "--threads", "1", "--output", dir + "/run", "--resume"] + arguments)
            XCTAssertEqual(refused.status, 1, "\(arguments)\n\(refused)")
            XCTAssertTrue(refused.stderr.contains("\(dir)/run/last.pth: \(message)"), "\(arguments)\n\(refused.stderr)")
            XCTAssertEqual(try files(dir + "/run"), before, "\(arguments): nothing written")
        }
        // Options equal to the checkpoint's are fine; --amp may change, and is said.
        let resumed = try Fixtures.run("train", ["--shards", shards, "--threads", "1", "--output", dir + "/run", "--resume",
                                                 "--method", "patchmix_cl", "--model", "ast-tiny", "--epochs", "3", "--device", "cpu", "--amp"])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertTrue(resumed.stdout.contains("resume: mixed precision on (epochs 1-1 ran with it off)"), resumed.stdout)
        XCTAssertTrue(resumed.stdout.contains("epoch   3/3"), resumed.stdout)
    }

    /// Before: a finished `ce` run's last.pth in a sweep's `patchmix_cl` run directory resumed
    /// "after epoch 1", trained nothing, wrote no result.json and exited 0. A sweep's command
    /// line defines its runs whole, so the checkpoint of another run is refused, naming both.
    func testASweepRunRefusesTheCheckpointOfAnotherRun() throws {
        try interruptedRun(in: dir + "/ce", method: .ce, epochs: 1)
        XCTAssertTrue(exists(dir + "/ce/result.json"))
        let run = dir + "/sweep/patchmix_cl/official/seed-1"
        try FileManager.default.createDirectory(atPath: run, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: dir + "/ce/last.pth", toPath: run + "/last.pth")
        let refused = try Fixtures.run("train", common + ["--epochs", "1", "--method", "patchmix_cl", "--seed", "1",
                                                         "--output", dir + "/sweep", "--sweep-index", "0"])
        XCTAssertEqual(refused.status, 1, refused.description)
        XCTAssertTrue(refused.stderr.contains("\(run)/last.pth: is a run with --method ce; this command asks for --method patchmix_cl"), refused.stderr)
        XCTAssertFalse(exists(run + "/result.json"))
    }

    // MARK: item 5 (and 6's run directory), a run that cannot start

    /// Before: `--batch-size` above the train split trained 0 steps, reported loss 0.0000, wrote a
    /// result.json and exited 0. Now it is an error naming both numbers, and leaves nothing.
    func testARunThatCannotTakeOneStepIsAnError() throws {
        let result = try Fixtures.run("train", common + ["--epochs", "1", "--batch-size", "64", "--output", dir + "/new/run"])
        XCTAssertEqual(result.status, 1, result.description)
        XCTAssertTrue(result.stderr.contains("the train split has 40 cycles, fewer than one batch of --batch-size 64"), result.stderr)
        XCTAssertFalse(exists(dir + "/new"), "nothing left behind")
        // --keep-last-batch: a last batch of 40 is a step.
        let kept = try Fixtures.run("train", common + ["--epochs", "1", "--batch-size", "64", "--keep-last-batch", "--output", dir + "/kept"])
        XCTAssertEqual(kept.status, 0, kept.stderr)
    }

    /// Before: a failed --init left the output directory holding only `.lock`; `--output afile`
    /// printed an NSError dump (Code=516), a read-only mount another (Code=642), and the mount
    /// itself blamed "another train process". Now each says it in words and leaves nothing.
    func testRunDirectoryErrorsInTheUsersTerms() throws {
        for (label, initFile) in [("missing", dir + "/none.pth"), ("not a checkpoint", dir + "/text.pth")] {
            try Data("not a checkpoint\n".utf8).write(to: URL(fileURLWithPath: dir + "/text.pth"))
            let failed = try Fixtures.run("train", common + ["--init", initFile, "--output", dir + "/fresh/run"])
            XCTAssertEqual(failed.status, 1, "\(label): \(failed)")
            XCTAssertFalse(exists(dir + "/fresh"), "\(label): a failed --init leaves nothing")
        }
        // An existing, empty directory given as --output is left as it was (no .lock).
        try FileManager.default.createDirectory(atPath: dir + "/empty", withIntermediateDirectories: true)
        let intoEmpty = try Fixtures.run("train", common + ["--init", dir + "/none.pth", "--output", dir + "/empty"])
        XCTAssertEqual(intoEmpty.status, 1)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir + "/empty"), [])

        try Data().write(to: URL(fileURLWithPath: dir + "/afile"))
        for output in [dir + "/afile", dir + "/afile/run"] {
            let file = try Fixtures.run("train", common + ["--epochs", "1", "--output", output])
            XCTAssertEqual(file.status, 1)
            XCTAssertTrue(file.stderr.contains("\(dir)/afile is a file, not a directory") || file.stderr.contains("\(dir)/afile as the run directory: it is a file, not a directory"), file.stderr)
            XCTAssertFalse(file.stderr.contains("Domain") || file.stderr.contains("Code="), file.stderr)
        }

        // A read-only mount (root: a read-only bind mount, as SweepCommandTests.testTrainingFromAReadOnlyFeatureSet).
        try FileManager.default.createDirectory(atPath: dir + "/ro", withIntermediateDirectories: true)
        let bind = Fixtures.system(["mount", "--bind", dir + "/empty", dir + "/ro"])
        guard bind.status == 0 else { throw XCTSkip("cannot bind-mount here: \(bind.output)") }
        defer { _ = Fixtures.system(["umount", "-l", dir + "/ro"]) }
        let remount = Fixtures.system(["mount", "-o", "remount,bind,ro", dir + "/ro"])
        XCTAssertEqual(remount.status, 0, remount.output)
        let inside = try Fixtures.run("train", common + ["--epochs", "1", "--output", dir + "/ro/run"])
        XCTAssertEqual(inside.status, 1)
        XCTAssertTrue(inside.stderr.contains("cannot create the run directory \(dir)/ro/run: \(dir)/ro is on a read-only file system"), inside.stderr)
        let mount = try Fixtures.run("train", common + ["--epochs", "1", "--output", dir + "/ro"])
        XCTAssertEqual(mount.status, 1)
        XCTAssertTrue(mount.stderr.contains("cannot write in the run directory \(dir)/ro: it is on a read-only file system"), mount.stderr)
        for output in [inside, mount] {
            XCTAssertFalse(output.stderr.contains("another train process") || output.stderr.contains("Code="), output.stderr)
        }
    }

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

    // MARK: item 4, a sweep and its children

    /// The pid in a run's `.lock` ("pid N: train"), once a process holds it.
    func lockHolder(_ run: String) -> pid_t? {
        guard let text = try? String(contentsOfFile: run + "/.lock", encoding: .utf8), text.hasPrefix("pid ") else { return nil }
        return pid_t(text.dropFirst(4).prefix { $0.isNumber })
    }

    /// Whether `pid` is gone (or a zombie nobody reaps: it computes nothing and holds no lock).
    func isDead(_ pid: pid_t) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return kill(pid, 0) != 0 }
        return stat.split(separator: ")").last?.trimmingCharacters(in: .whitespaces).hasPrefix("Z") ?? true
    }

    /// Before: `kill -9` of a sweep left its running child training, reparented and in another
    /// process group (`kill -- -PGID` missed it), holding the run's lock against a rerun. Now the
    /// child is in the sweep's group and dies with it (parent-death signal).
    func testASweepsChildrenDieWithIt() throws {
        let sweep = try RunningProcess(executableAt: Fixtures.executable("train"),
                                       common + ["--method", "ce", "--seed", "1-2", "--epochs", "100000", "--output", dir + "/sweep"])
        let run = dir + "/sweep/ce/official/seed-1"
        // Observed, not timed: the child holds the run's lock (a hang guard only).
        var child: pid_t?
        let guardTime = Date().addingTimeInterval(300)
        while sweep.process.isRunning && Date() < guardTime {
            if let pid = lockHolder(run), pid != sweep.process.processIdentifier { child = pid; break }
            usleep(20_000)
        }
        let pid = try XCTUnwrap(child, "no child took the run's lock")
        let group = getpgid(pid)
        XCTAssertEqual(group, getpgid(sweep.process.processIdentifier), "the child is in the sweep's process group")
        let killed = Date()
        XCTAssertTrue(sweep.killNow())
        _ = sweep.finish()
        // A guard only: a SIGKILLed child is gone in milliseconds; an orphan trains on for hours.
        let deathGuard = Date().addingTimeInterval(60)
        while !isDead(pid) && Date() < deathGuard { usleep(1_000) }
        XCTAssertTrue(isDead(pid), "the child outlived the sweep")
        print(String(format: "figure: sweep child %d (group %d, the sweep's) dead %.0f ms after kill -9 of the sweep", pid, group, Date().timeIntervalSince(killed) * 1000))
        if !isDead(pid) { kill(pid, SIGKILL) }
        // Its lock is free again.
        let fd = open(run + "/.lock", O_RDWR)
        defer { close(fd) }
        XCTAssertEqual(flock(fd, LOCK_EX | LOCK_NB), 0, "the run's lock is free")
    }

    /// Before: a run whose lock another process held was reported FAILED, and the refusal was
    /// written into that run's train.log (mid-line of the other process's output). Now it is
    /// "running elsewhere", not a failure, and its log is not touched by a process without its lock.
    func testARunLockedElsewhereIsReportedAndItsLogLeftAlone() throws {
        let run = dir + "/sweep/ce/official/seed-1"
        try FileManager.default.createDirectory(atPath: run, withIntermediateDirectories: true)
        let log = Data("epoch 4/6 of the process that holds the lock".utf8)
        try log.write(to: URL(fileURLWithPath: run + "/train.log"))
        let fd = open(run + "/.lock", O_RDWR | O_CREAT, 0o644)
        XCTAssertEqual(flock(fd, LOCK_EX | LOCK_NB), 0)
        _ = "pid 4242: train".withCString { write(fd, $0, strlen($0)) }
        let args = common + ["--method", "ce", "--seed", "1-2", "--epochs", "1", "--output", dir + "/sweep"]
        let sweep = try Fixtures.run("train", args)
        XCTAssertEqual(sweep.status, 0, sweep.description)
        XCTAssertTrue(sweep.stdout.contains("[0] ce/official/seed-1: running elsewhere (another process holds its lock: pid 4242: train), left to it"), sweep.stdout)
        XCTAssertFalse(sweep.stdout.contains("FAILED"), sweep.stdout)
        XCTAssertTrue(sweep.stdout.contains("[1] ce/official/seed-2: done"), sweep.stdout)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: run + "/train.log")), log, "the log of a run locked elsewhere is not written")
        close(fd)
        let rerun = try Fixtures.run("train", args)
        XCTAssertEqual(rerun.status, 0, rerun.description)
        XCTAssertTrue(exists(run + "/result.json"))
    }

    /// Before: two copies of one sweep started together both exited 1 and one run's train.log
    /// lost its first lines to the other's error. Now each run is done once, by whichever copy
    /// takes its lock; the other reports it running elsewhere or finds it finished; every log
    /// holds one run's output.
    func testTwoCopiesOfASweepStartedTogether() throws {
        let args = common + ["--method", "ce", "--seed", "1-3", "--epochs", "1", "--output", dir + "/sweep"]
        let copies = try (0..<2).map { _ in try RunningProcess(executableAt: Fixtures.executable("train"), args) }
        let results = copies.map { $0.finish().result }
        for result in results {
            XCTAssertEqual(result.status, 0, result.description)
            XCTAssertFalse(result.stdout.contains("FAILED"), result.stdout)
        }
        let count = { (text: String) in results.map { $0.stdout.components(separatedBy: text).count - 1 } }
        print("figure: two copies of a 3-run sweep: done \(count(": done")), running elsewhere \(count(": running elsewhere")), found finished under the lock \(count("nothing to do"))")
        for s in 1...3 {
            let run = dir + "/sweep/ce/official/seed-\(s)"
            XCTAssertTrue(exists(run + "/result.json"), "seed \(s)")
            let log = try String(contentsOfFile: run + "/train.log", encoding: .utf8)
            XCTAssertEqual(log.components(separatedBy: " parameters, ").count - 1, 1, "seed \(s): one run's output\n\(log)")
            XCTAssertFalse(log.contains("error") || log.contains("another train process"), "seed \(s):\n\(log)")
            // The run's first lines: the device the sweep decided for it, then the model.
            XCTAssertTrue(log.hasPrefix("device: cpu (--device cpu)\nast-tiny: "), "seed \(s): the log starts with the run's first line\n\(log)")
        }
    }
}
