import Foundation
import TestSupport
import Training
import TrainingTestSupport
import XCTest

/// Sweeps (seeds x folds x methods), the patient-wise fold protocol, the results table and the
/// cluster jobs (REFERENCE.md "Metric"; issue: experiments in one command), as library code.
/// Sweeps run by the `train` binary: EndToEndTests.SweepCommandTests.
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

    /// Issue #20 item 5: `--seed 1-2000000000` enumerated quadratically (1-100,000 took 4.2 s,
    /// 1-300,000 33.7 s, that one forever). Now a list is refused past the sweep bound before
    /// anything is expanded, and expansion is linear.
    func testIntegerListsAreBoundedAndExpandLinearly() throws {
        XCTAssertEqual(SweepPlan.maximumRuns, 10_000)
        let big = try IntegerList.parse("1-5000,1-5000", option: "--seed")
        XCTAssertEqual(big, Array(1...5000), "duplicates dropped, order kept")
        XCTAssertEqual(try IntegerList.parse("0-9999", option: "--seed").count, 10_000)
        for tooMany in ["1-2000000000", "0-10000", "0-\(Int.max)", "1-6000,1-6000"] {
            XCTAssertThrowsError(try IntegerList.parse(tooMany, option: "--seed"), tooMany) { error in
                XCTAssertTrue("\(error)".contains("more than 10000 values; a sweep has at most 10000 runs"), "\(error)")
            }
        }
        XCTAssertThrowsError(try SweepPlan.parse(methods: "ce,patchmix,patchmix_cl", testFolds: "0-4", seeds: "1-1000")) { error in
            XCTAssertTrue("\(error)".contains("3 methods x 5 folds x 1000 seeds = 15000 runs; a sweep has at most 10000 runs"), "\(error)")
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

    /// A command line's request: each run's options are the preset's and `TrainingOptions`'s
    /// defaults with the stated options applied; a sweep hands its runs exactly the stated run
    /// options (no --device, --threads, --parallel, --emit: the sweep decides those itself).
    func testARequestMakesEachRunsOptionsAndTheArgumentsOfASweepsRuns() throws {
        let request = RunRequest(model: "ast-tiny", seeds: "1-3", heads: 2, stated: [
            StatedOption("--epochs", 2) { $0.epochs = $1 },
            StatedOption("--temperature", Float(0.07)) { $0.temperature = $1 },
            StatedOption("--negative-pair", NegativePair.diff_label) { $0.negativePair = $1 },
            StatedOption(flag: "--no-spec-augment") { $0.specAugment = false },
        ])
        XCTAssertEqual(request.arguments, ["--model", "ast-tiny", "--seed", "1-3", "--heads", "2", "--epochs", "2",
                                           "--temperature", "0.07", "--negative-pair", "diff_label", "--no-spec-augment"])
        XCTAssertEqual(request.statedOptions, ["--model", "--seed", "--epochs", "--temperature", "--negative-pair", "--no-spec-augment"])
        let plan = try request.plan()
        XCTAssertEqual(plan.seeds, [1, 2, 3])
        XCTAssertEqual(plan.methods, [TrainingOptions.defaults.method])
        let options = request.options(for: plan.runs[1], preset: try request.preset(), device: "cpu", amp: nil, outputDirectory: "o")
        var expected = TrainingOptions(preset: .astTiny, outputDirectory: "o")
        expected.epochs = 2
        expected.temperature = 0.07
        expected.negativePair = .diff_label
        expected.specAugment = false
        expected.seed = 2
        expected.model.heads = 2
        expected.amp = false
        XCTAssertEqual(options, expected)
        XCTAssertEqual(RunRequest.defaultOutput(for: options), "runs/ast-tiny-patchmix_cl-s2")
        var folded = options
        folded.testFold = 3
        XCTAssertEqual(RunRequest.defaultOutput(for: folded), "runs/ast-tiny-patchmix_cl-s2-fold3")
        var tasked = options
        tasked.task = "1-2"
        XCTAssertEqual(RunRequest.defaultOutput(for: tasked), "runs/ast-tiny-patchmix_cl-s2-task1-2")
        // CUDA: mixed precision unless stated otherwise.
        XCTAssertEqual(request.options(for: plan.runs[0], preset: .astTiny, device: "cuda", amp: nil, outputDirectory: "").amp, true)
        XCTAssertEqual(request.options(for: plan.runs[0], preset: .astTiny, device: "cuda", amp: false, outputDirectory: "").amp, false)
        // A shape from a file: --heads is applied where the file is read, not to the preset.
        var fromFile = request
        fromFile.initCheckpoint = "a.pth"
        XCTAssertEqual(fromFile.options(for: plan.runs[0], preset: .astTiny, device: "cpu", amp: nil, outputDirectory: "").model.heads,
                       ModelPreset.astTiny.model.heads)
        XCTAssertEqual(request.options(for: plan.runs[0], preset: .astTiny, device: "cpu", amp: nil, checkpointShape: true,
                                       outputDirectory: "").model.heads, ModelPreset.astTiny.model.heads)
        XCTAssertThrowsError(try fromFile.validate(device: nil, amp: nil, resume: true)) {
            XCTAssertEqual("\($0)", "--resume continues a run; --init starts a new one")
        }
        // Nothing stated: the defaults, one run.
        let none = RunRequest()
        XCTAssertEqual(none.arguments, [])
        XCTAssertEqual(none.statedOptions, [])
        XCTAssertEqual(try none.plan().count, 1)
        XCTAssertEqual(none.options(for: try none.plan().runs[0], preset: try none.preset(), device: "cpu", amp: nil, outputDirectory: "o"),
                       { var o = TrainingOptions(preset: RunRequest.defaultPreset, outputDirectory: "o"); o.amp = false; return o }())
        // Each rule once, in the library.
        XCTAssertThrowsError(try SweepRequest(parallel: 0).validate(plan, resume: false))
        XCTAssertThrowsError(try SweepRequest().validate(plan, resume: true)) {
            XCTAssertEqual("\($0)", "sweeps resume by themselves: rerun the same command without --resume")
        }
        XCTAssertNoThrow(try SweepRequest().validate(try none.plan(), resume: true))
        XCTAssertThrowsError(try SweepRequest(emit: .slurm, index: 0).validate(plan, resume: false))
        XCTAssertThrowsError(try ExecutionRequest(threads: 0).validate())
        XCTAssertEqual(ExecutionRequest(amp: false).runArguments, ["--no-amp"])
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
                lr: Double = 1e-3) -> RunResult {
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
        return RunResult(options: options, history: [record], best: best, threads: 1)
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

    /// Issue #20 item 3: a newline in `--output` or the working directory ran the rest of the
    /// path as a command of the job script (`#SBATCH --output=x` / `touch PWNED #/...`). Such
    /// paths are refused, naming the path and why; a backslash in the log path too (it turns off
    /// Slurm's %A/%a patterns).
    func testSlurmJobRefusesPathsItsDirectivesCannotCarry() {
        var hostile = job()
        hostile.outputDirectory = "x\ntouch PWNED #"
        XCTAssertThrowsError(try hostile.checkSlurmPaths()) { error in
            XCTAssertTrue("\(error)".contains("--output \"x\\ntouch PWNED #\" holds a newline"), "\(error)")
        }
        var workingDirectory = job()
        workingDirectory.workingDirectory = "/data/a\rb"
        XCTAssertThrowsError(try workingDirectory.checkSlurmPaths()) { error in
            XCTAssertTrue("\(error)".contains("the working directory \"/data/a\\rb\" holds a control character (U+D)"), "\(error)")
        }
        var backslash = job()
        backslash.outputDirectory = "runs\\s"
        XCTAssertThrowsError(try backslash.checkSlurmPaths()) { XCTAssertTrue("\($0)".contains("holds a backslash"), "\($0)") }
        XCTAssertNoThrow(try job().checkSlurmPaths())
    }

    /// The #SBATCH lines carry paths with blanks, quotes, `#`, `$` and `%` as written: sbatch
    /// splits a directive's arguments at blanks, reads quotes and backslash escapes and stops at
    /// an unquoted `#` (Slurm's `_get_argument` in src/sbatch/opt.c, modelled below), and `%` in
    /// `--output` is a file name pattern (`%%`: a literal one). Before, `--chdir=/data/my study`
    /// reached Slurm as `/data/my`. The script run by bash (with echo as `train`) runs nothing else.
    func testSlurmDirectivesCarryPathsWithBlanksQuotesAndHashes() throws {
        let dir = try Paths.temporaryDirectory("slurm-paths")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let odd = dir + "/my study #1 a\"b'c $(touch PWNED) 50%"
        var j = ClusterJob(executable: "/bin/echo", arguments: ["--output", odd + "/runs"], workingDirectory: odd,
                           outputDirectory: odd + "/runs", runs: 2, threadsPerTask: 1, gpusPerTask: 0)
        j.name = "t"
        XCTAssertNoThrow(try j.checkSlurmPaths())
        let script = j.slurmScript
        func directive(_ name: String) -> String? {
            script.split(separator: "\n").first { $0.hasPrefix("#SBATCH --\(name)=") }.map { Self.sbatchArgument(String($0.dropFirst("#SBATCH ".count))) }
        }
        XCTAssertEqual(directive("chdir"), "--chdir=" + odd)
        XCTAssertEqual(directive("output"), "--output=" + odd.replacingOccurrences(of: "%", with: "%%") + "/runs/slurm-logs/%A_%a.out")
        try FileManager.default.createDirectory(atPath: odd, withIntermediateDirectories: true)
        try script.write(toFile: dir + "/job.sh", atomically: true, encoding: .utf8)
        let ran = Fixtures.system(["/bin/bash", dir + "/job.sh"], environment: ["SLURM_ARRAY_TASK_ID": "1"])
        XCTAssertEqual(ran.status, 0, ran.output)
        XCTAssertEqual(ran.output, "--output \(odd)/runs --threads 1 --sweep-index 1\n")
        XCTAssertFalse(FileManager.default.fileExists(atPath: "PWNED") || FileManager.default.fileExists(atPath: odd + "/PWNED"))
    }

    /// One argument of a `#SBATCH` line as sbatch reads it (src/sbatch/opt.c `_get_argument`):
    /// leading blanks skipped; a backslash escapes the next character; '...' and "..." quote; an
    /// unquoted blank ends the argument and an unquoted `#` the line.
    static func sbatchArgument(_ line: String) -> String {
        var out = "", quote: Character?, escaped = false
        for c in line.drop(while: { $0 == " " || $0 == "\t" }) {
            if escaped { out.append(c); escaped = false; continue }
            if c == "\\" { escaped = true; continue }
            if let q = quote {
                if c == q { quote = nil } else { out.append(c) }
                continue
            }
            if c == "\"" || c == "'" { quote = c; continue }
            if c == " " || c == "\t" || c == "#" { break }
            out.append(c)
        }
        return out
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
        let python = try Fixtures.python3(importing: ["kubernetes_validate"], environment: ["PYTHONPATH": tools])
        let out = Fixtures.system([python, "-m", "kubernetes_validate", "--strict", "-k", "1.30.0", path],
                                  environment: ["PYTHONPATH": tools])
        XCTAssertEqual(out.status, 0, out.output)
        XCTAssertTrue(out.output.contains("passed for resource job/icbhi-sweep"), out.output)
        // A broken manifest fails the same check (the check can fail).
        let broken = try String(contentsOfFile: path, encoding: .utf8).replacingOccurrences(of: "completionMode: Indexed", with: "completionMode: 7")
        try broken.write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertNotEqual(Fixtures.system([python, "-m", "kubernetes_validate", "--strict", "-k", "1.30.0", path],
                                          environment: ["PYTHONPATH": tools]).status, 0)
    }
}
