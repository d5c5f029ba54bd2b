import Foundation
import Training
import TestSupport
import XCTest

/// Sweeps (seeds x folds x methods), the patient-wise fold protocol, the results table and the
/// cluster jobs (REFERENCE.md "Metric"; issue: experiments in one command).
final class SweepTests: XCTestCase {
    // MARK: Lists and plans

    func testIntegerListsAsUsersWriteThem() throws {
        XCTAssertEqual(try IntegerList.parse("1-5", option: "--seed"), [1, 2, 3, 4, 5])
        XCTAssertEqual(try IntegerList.parse("1,2,3", option: "--seed"), [1, 2, 3])
        XCTAssertEqual(try IntegerList.parse("0-2,4", option: "--test-fold"), [0, 1, 2, 4])
        XCTAssertEqual(try IntegerList.parse("7", option: "--seed"), [7])
        XCTAssertEqual(try IntegerList.parse("3,1-3", option: "--seed"), [3, 1, 2], "order kept, duplicates dropped")
        for bad in ["", "a", "3-1", "1-", "-2", "1,,2", "1-2-3"] {
            XCTAssertThrowsError(try IntegerList.parse(bad, option: "--seed"), bad) { error in
                XCTAssertTrue("\(error)".contains("--seed '\(bad)'"), "\(error)")
            }
        }
    }

    func testPlanExpandsEveryCombinationInAFixedOrder() throws {
        let plan = try SweepPlan.parse(methods: "ce,patchmix_cl", testFolds: "0-1", seeds: "1-3")
        XCTAssertEqual(plan.count, 12)
        XCTAssertEqual(plan.runs.map(\.relativeDirectory).prefix(4),
                       ["ce/fold-0/seed-1", "ce/fold-0/seed-2", "ce/fold-0/seed-3", "ce/fold-1/seed-1"])
        XCTAssertEqual(try plan.run(at: 11), SweepRun(method: .patchmix_cl, testFold: 1, seed: 3))
        XCTAssertThrowsError(try plan.run(at: 12)) { XCTAssertTrue("\($0)".contains("0-11"), "\($0)") }
        let official = try SweepPlan.parse(methods: "patchmix_cl", testFolds: nil, seeds: "1")
        XCTAssertEqual(official.runs.map(\.relativeDirectory), ["patchmix_cl/official/seed-1"])
        XCTAssertThrowsError(try SweepPlan.parse(methods: "ce,mixup", testFolds: nil, seeds: "1")) {
            XCTAssertTrue("\($0)".contains("unknown method 'mixup'"), "\($0)")
        }
        XCTAssertThrowsError(try SweepPlan.parse(methods: "ce", testFolds: "5", seeds: "1")) {
            XCTAssertTrue("\($0)".contains("--test-fold 5"), "\($0)")
        }
    }

    func testRunsGetTheSweepArgumentsWithoutTheSweepOnlyOptions() {
        let args = ["--shards", "s", "--seed", "1-3", "--parallel", "2", "--threads=4", "--emit", "slurm",
                    "--sweep-index", "1", "--image=x", "--volume-claim", "pvc", "--epochs", "2"]
        XCTAssertEqual(SweepArguments.forRuns(args), ["--shards", "s", "--seed", "1-3", "--epochs", "2"])
    }

    // MARK: Folds

    /// The real folds file: (patient, fold) pairs.
    func realFolds() throws -> [(patient: Int32, fold: Int8)] {
        let path = Paths.shared.appendingPathComponent("icbhi/patient_list_foldwise.txt").path
        let text = try String(contentsOfFile: path, encoding: .utf8)
        return text.split(whereSeparator: \.isNewline).compactMap { line in
            let parts = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard parts.count >= 2, let p = Int32(parts[0]), let f = Int8(parts[1]) else { return nil }
            return (p, f)
        }
    }

    func testTestFoldsArePatientDisjointAndCoverEveryPatientOnce() throws {
        let folds = try realFolds()
        XCTAssertEqual(Set(folds.map(\.fold)), [0, 1, 2, 3, 4])
        let dir = try Paths.temporaryDirectory("folds")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // Two rows per patient, spread over both official splits (the folds ignore the split).
        let perSplit = folds.count
        let corpus = SyntheticCorpus.make(count: perSplit, seed: 3)
        try SyntheticShards.write(to: dir, train: corpus, test: corpus,
                                  patient: { _, row in folds[row].patient }, fold: { _, row in folds[row].fold })
        var tested: [Int32: Int] = [:]
        for k in FoldSelection.folds {
            let train = try ShardCycles(directory: dir, selection: FoldSelection.trainRows(testFold: k))
            let test = try ShardCycles(directory: dir, selection: FoldSelection.testRows(testFold: k))
            XCTAssertNoThrow(try FoldSelection.checkPatientDisjoint(train: train, test: test))
            XCTAssertTrue(Set(train.patients).isDisjoint(with: Set(test.patients)), "fold \(k)")
            XCTAssertEqual(train.count + test.count, 2 * perSplit, "every row is on one side")
            for p in Set(test.patients) { tested[Int32(p), default: 0] += 1 }
        }
        XCTAssertEqual(Set(tested.keys), Set(folds.map(\.patient)), "every patient of the folds file is tested")
        XCTAssertEqual(Set(tested.values), [1], "each exactly once")
    }

    func testAPatientInTwoFoldsIsRefused() throws {
        let dir = try Paths.temporaryDirectory("badfolds")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let corpus = SyntheticCorpus.make(count: 10, seed: 3)
        // Patient 7 appears in fold 0 (train split) and in fold 1 (test split).
        try SyntheticShards.write(to: dir, train: corpus, test: corpus,
                                  patient: { split, row in row == 0 ? 7 : Int32((split == "train" ? 100 : 200) + row) },
                                  fold: { split, row in split == "train" ? Int8(row % 5) : Int8((row + 1) % 5) })
        let train = try ShardCycles(directory: dir, selection: FoldSelection.trainRows(testFold: 1))
        let test = try ShardCycles(directory: dir, selection: FoldSelection.testRows(testFold: 1))
        XCTAssertThrowsError(try FoldSelection.checkPatientDisjoint(train: train, test: test)) { error in
            XCTAssertTrue("\(error)".contains("share 1 patient(s) (7)"), "\(error)")
        }
    }

    // MARK: Results table

    func result(method: TrainingMethod, seed: UInt64, score: (sp: Double, se: Double), featureSetID: String = "fs1",
                lr: Double = 1e-3) -> Training.RunResult {
        var options = TrainingOptions(preset: .astTiny, outputDirectory: "/somewhere/\(seed)")
        options.method = method
        options.seed = seed
        options.learningRate = lr
        options.featureSet = "synthetic"
        options.featureSetID = featureSetID
        // EpochRecord as log.jsonl spells it (its memberwise init is internal).
        let fields: [String: Any] = [
            "epoch": 1, "learningRate": lr, "trainLoss": 1.0, "trainCELoss": 1.0, "trainConLoss": 0.0, "steps": 3,
            "specificity": score.sp, "sensitivity": score.se, "score": (score.sp + score.se) / 2,
            "specificity2": score.sp, "sensitivity2": score.se, "score2": (score.sp + score.se) / 2,
            "best": true, "trainSeconds": 1.0, "evalSeconds": 1.0, "dataWaitFraction": 0.0,
            "confusion": [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]],
        ]
        let record = try! JSONDecoder().decode(EpochRecord.self, from: JSONSerialization.data(withJSONObject: fields))
        var best = BestEpochTracker()
        _ = best.offer(epoch: 1, score: ICBHIScore(normalHits: Int(score.sp), normalCount: 100,
                                                   abnormalHits: Int(score.se), abnormalCount: 100))
        return Training.RunResult(options: options, history: [record], best: best, threads: 1)
    }

    func testTableShowsMeanAndSampleStdOverSeeds() throws {
        let results = [(70.0, 40.0), (80.0, 50.0), (90.0, 30.0)].enumerated().map {
            ("/r/ce/\($0.offset)/result.json", result(method: .ce, seed: UInt64($0.offset + 1), score: $0.element))
        } + [("/r/cl/1/result.json", result(method: .patchmix_cl, seed: 1, score: (60, 60)))]
        let table = try ResultsReport.table(results)
        XCTAssertEqual(table.rows.map(\.method), [.ce, .patchmix_cl])
        let ce = table.rows[0]
        XCTAssertEqual(ce.n, 3)
        XCTAssertEqual(ce.best.specificity.mean, 80, accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(ce.best.specificity.std), 10, accuracy: 1e-12, "sample std (n - 1)")
        XCTAssertEqual(ce.best.score.values, [55, 65, 60])
        XCTAssertNil(table.rows[1].best.score.std, "one seed: no std")
        let md = ResultsReport.markdown(table)
        XCTAssertTrue(md.contains("| ce | official | 3 | 80.00 ± 10.00 | 40.00 ± 10.00 | 60.00 ± 5.00 |"), md)
        XCTAssertTrue(md.contains("s1: 55.00, s2: 65.00, s3: 60.00"), md)
    }

    func testPaperFiguresStandBesideThePapersConfiguration() {
        var r = result(method: .patchmix_cl, seed: 1, score: (80, 40))
        XCTAssertNil(PaperFigures.matching(r), "ast-tiny is not the paper's model")
        r.options = TrainingOptions(preset: .astBase, outputDirectory: "x")
        r.options.initCheckpoint = "audioset_10_10_0.4593.pth"
        XCTAssertEqual(PaperFigures.matching(r)?.score, 62.37)
        r.method = .ce
        XCTAssertEqual(PaperFigures.matching(r)?.score, 59.55)
        r.testFold = 2
        XCTAssertNil(PaperFigures.matching(r), "the paper's figures are on the official split")
    }

    func testRunsOfDifferentFeatureSetsOrOptionsAreNotMixed() throws {
        let a = ("/x/a/result.json", result(method: .ce, seed: 1, score: (70, 40), featureSetID: "fs1"))
        let b = ("/y/b/result.json", result(method: .ce, seed: 2, score: (70, 40), featureSetID: "fs2"))
        XCTAssertThrowsError(try ResultsReport.table([a, b])) { error in
            XCTAssertTrue("\(error)".contains("/x/a/result.json") && "\(error)".contains("/y/b/result.json"), "\(error)")
            XCTAssertTrue("\(error)".contains("fs1") && "\(error)".contains("fs2"), "\(error)")
        }
        let c = ("/z/c/result.json", result(method: .ce, seed: 2, score: (70, 40), lr: 5e-4))
        XCTAssertThrowsError(try ResultsReport.table([a, c])) { error in
            XCTAssertTrue("\(error)".contains("learningRate"), "\(error)")
        }
        let twin = ("/w/a/result.json", result(method: .ce, seed: 1, score: (70, 40)))
        XCTAssertThrowsError(try ResultsReport.table([a, twin])) { XCTAssertTrue("\($0)".contains("same run"), "\($0)") }
    }

    // MARK: Cluster jobs

    func job(gpus: Int = 0) -> ClusterJob {
        ClusterJob(executable: "/opt/icbhi/train", arguments: ["--shards", "cache/fs 1", "--seed", "1-3"],
                   workingDirectory: "/data/study", outputDirectory: "runs/s", runs: 3, threadsPerTask: 4, gpusPerTask: gpus)
    }

    func testSlurmScriptIsAJobArrayOfTheSweepRuns() {
        let script = job(gpus: 1).slurmScript
        XCTAssertTrue(script.hasPrefix("#!/bin/bash\n"))
        for line in ["#SBATCH --array=0-2", "#SBATCH --cpus-per-task=4", "#SBATCH --gpus-per-task=1",
                     "#SBATCH --chdir=/data/study", "#SBATCH --output=runs/s/slurm-logs/%A_%a.out",
                     "exec /opt/icbhi/train --shards 'cache/fs 1' --seed 1-3 --threads 4 --sweep-index \"$SLURM_ARRAY_TASK_ID\""] {
            XCTAssertTrue(script.contains(line + "\n"), "missing \(line) in\n\(script)")
        }
        XCTAssertFalse(job(gpus: 0).slurmScript.contains("--gpus-per-task"), "CPU runs ask for no GPU")
    }

    /// The manifest validates against Kubernetes' own Job schema (kubernetes-validate, from PyPI,
    /// installed by `make setup` into .build/pytools).
    func testKubernetesManifestValidatesAgainstTheJobSchema() throws {
        let dir = try Paths.temporaryDirectory("k8s")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/job.yaml"
        try job(gpus: 1).kubernetesManifest(image: "registry.example/icbhi-train:1", volumeClaim: "icbhi", parallelism: 2)
            .write(toFile: path, atomically: true, encoding: .utf8)
        let tools = Paths.repositoryRoot.appendingPathComponent(".build/pytools").path
        guard FileManager.default.fileExists(atPath: tools + "/kubernetes_validate") else {
            XCTFail("kubernetes-validate is not installed in \(tools): run `make setup`")
            return
        }
        let out = try PythonTool.run(["-m", "kubernetes_validate", "--strict", "-k", "1.30.0", path],
                                     pythonPath: tools)
        XCTAssertEqual(out.status, 0, out.output)
        XCTAssertTrue(out.output.contains("passed for resource job/icbhi-sweep"), out.output)
        // A broken manifest fails the same check (the check can fail).
        let broken = try String(contentsOfFile: path, encoding: .utf8).replacingOccurrences(of: "completionMode: Indexed", with: "completionMode: 7")
        try broken.write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertNotEqual(try PythonTool.run(["-m", "kubernetes_validate", "--strict", "-k", "1.30.0", path], pythonPath: tools).status, 0)
    }

    // MARK: End to end: the `train` binary

    /// Strips the timing fields of a log.jsonl (the only fields allowed to differ).
    func untimed(_ path: String) throws -> [NSDictionary] {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map { line in
            let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            return object.filter { !["trainSeconds", "evalSeconds", "dataWaitFraction"].contains($0.key) } as NSDictionary
        }
    }

    func testSeedSweepEqualsStandaloneRunsAndItsTableEqualsTheLogs() throws {
        let dir = try Paths.temporaryDirectory("sweep")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try SyntheticShards.write(to: dir + "/shards", train: SyntheticCorpus.make(count: 40, seed: 1),
                                  test: SyntheticCorpus.make(count: 20, seed: 2))
        let common = ["--shards", dir + "/shards", "--model", "ast-tiny", "--epochs", "2", "--method", "patchmix_cl"]
        let sweep = try Products.run("train", common + ["--seed", "1-3", "--output", dir + "/sweep"])
        XCTAssertEqual(sweep.status, 0, sweep.stdout + sweep.stderr)
        for s in 1...3 {
            let alone = try Products.run("train", common + ["--seed", "\(s)", "--output", dir + "/alone-\(s)"])
            XCTAssertEqual(alone.status, 0, alone.stderr)
            XCTAssertEqual(try untimed(dir + "/sweep/patchmix_cl/official/seed-\(s)/log.jsonl"),
                           try untimed(dir + "/alone-\(s)/log.jsonl"), "seed \(s)")
        }
        let report = try Products.run("train", ["report", dir + "/sweep"])
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
        let parallel = try Products.run("train", common + ["--seed", "1-3", "--output", dir + "/parallel", "--parallel", "2"])
        XCTAssertEqual(parallel.status, 0, parallel.stdout + parallel.stderr)
        for s in 1...3 {
            XCTAssertEqual(try untimed(dir + "/parallel/patchmix_cl/official/seed-\(s)/log.jsonl"),
                           try untimed(dir + "/sweep/patchmix_cl/official/seed-\(s)/log.jsonl"), "seed \(s)")
        }
        // A report mixing two feature sets is refused, naming them.
        try SyntheticShards.write(to: dir + "/other", train: SyntheticCorpus.make(count: 40, seed: 5),
                                  test: SyntheticCorpus.make(count: 20, seed: 6), featureSet: "other", id: "feedbeef")
        let other = try Products.run("train", common + ["--shards", dir + "/other", "--seed", "1", "--output", dir + "/o"])
        XCTAssertEqual(other.status, 0, other.stderr)
        let mixed = try Products.run("train", ["report", dir + "/sweep", dir + "/o", "--output", dir + "/mixed"])
        XCTAssertEqual(mixed.status, 1)
        XCTAssertTrue(mixed.stderr.contains("feedbeef") && mixed.stderr.contains("0123abcd"), mixed.stderr)
    }

    func testKilledSweepResumesAndLeavesFinishedRunsUntouched() throws {
        let dir = try Paths.temporaryDirectory("kill")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try SyntheticShards.write(to: dir + "/shards", train: SyntheticCorpus.make(count: 40, seed: 1),
                                  test: SyntheticCorpus.make(count: 20, seed: 2))
        let args = ["--shards", dir + "/shards", "--model", "ast-tiny", "--epochs", "3", "--method", "ce",
                    "--seed", "1-3", "--output", dir + "/sweep"]
        let process = try Fixtures.start("train", args)
        // Kill everything once seed 1 is finished and seed 2 has checkpointed an epoch.
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline && !FileManager.default.fileExists(atPath: dir + "/sweep/ce/official/seed-2/last.pth") {
            usleep(20_000)
        }
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/sweep/ce/official/seed-1/result.json"))
        kill(process.processIdentifier, SIGKILL)
        _ = try PythonTool.system(["pkill", "-9", "-P", String(process.processIdentifier)])
        process.waitUntilExit()
        usleep(200_000)
        let finished = dir + "/sweep/ce/official/seed-1"
        let before = try FileManager.default.contentsOfDirectory(atPath: finished).sorted().map {
            ($0, try Data(contentsOf: URL(fileURLWithPath: finished + "/" + $0)))
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/sweep/ce/official/seed-3/result.json"))

        let rerun = try Products.run("train", args)
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
            let alone = try Products.run("train", Array(args.dropLast(4)) + ["--seed", "\(s)", "--output", dir + "/alone-\(s)"])
            XCTAssertEqual(alone.status, 0, alone.stderr)
            XCTAssertEqual(try untimed(run + "/log.jsonl"), try untimed(dir + "/alone-\(s)/log.jsonl"), "seed \(s)")
        }
    }

    /// Shards on a read-only file system (a read-only bind mount) train; readers take no file lock.
    func testTrainingFromAReadOnlyFeatureSet() throws {
        let dir = try Paths.temporaryDirectory("ro")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try SyntheticShards.write(to: dir + "/shards", train: SyntheticCorpus.make(count: 20, seed: 1),
                                  test: SyntheticCorpus.make(count: 10, seed: 2))
        try FileManager.default.createDirectory(atPath: dir + "/ro", withIntermediateDirectories: true)
        let bind = try PythonTool.system(["mount", "--bind", dir + "/shards", dir + "/ro"])
        guard bind.status == 0 else { throw XCTSkip("cannot bind-mount here: \(bind.output)") }
        defer { _ = try? PythonTool.system(["umount", "-l", dir + "/ro"]) }
        let remount = try PythonTool.system(["mount", "-o", "remount,bind,ro", dir + "/ro"])
        XCTAssertEqual(remount.status, 0, remount.output)
        XCTAssertFalse(FileManager.default.createFile(atPath: dir + "/ro/probe", contents: Data()), "the mount is read-only")
        // Another process holding an exclusive lock on every shard does not stop a reader.
        var locks: [Int32] = []
        for name in try FileManager.default.contentsOfDirectory(atPath: dir + "/shards") where name.hasSuffix(".h5") {
            let fd = open(dir + "/shards/" + name, O_RDONLY)
            XCTAssertEqual(flock(fd, LOCK_EX | LOCK_NB), 0)
            locks.append(fd)
        }
        defer { locks.forEach { close($0) } }
        let run = try Products.run("train", ["--shards", dir + "/ro", "--model", "ast-tiny", "--epochs", "1",
                                             "--output", dir + "/run"])
        XCTAssertEqual(run.status, 0, run.stdout + run.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/run/result.json"))
    }
}

/// Runs helper programs for these tests (python with a PYTHONPATH, mount, pkill) through TestSupport.
enum PythonTool {
    struct Output {
        var status: Int32
        var output: String
    }

    static func run(_ arguments: [String], pythonPath: String) throws -> Output {
        try system(["/usr/bin/python3"] + arguments, environment: ["PYTHONPATH": pythonPath])
    }

    @discardableResult
    static func system(_ command: [String], environment: [String: String] = [:]) throws -> Output {
        let result = Fixtures.system(command, environment: environment)
        return Output(status: result.status, output: result.output)
    }
}
