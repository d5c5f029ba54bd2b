import Foundation
import TestSupport
import XCTest

/// Crash safety: kill -9 at seeded points of a run's progress (once n of its outputs are
/// published, n spread over the run); every kill lands mid-run, every rerun completes, the
/// final outputs equal the uninterrupted run's byte for byte, and no temp file survives.
final class HardeningCrashTests: HardeningTestCase {
    private let killPoints = 20

    /// Kill point `point`: starts `prep arguments` and kills it once `target` outputs under
    /// `roots` are published; every third point also starts it again and kills that rerun once it
    /// has published one more output (it is redoing the work left by the first kill). Returns
    /// whether each kill landed while its run was still going (nil: no second run).
    private func killRuns(_ arguments: [String], point: Int, target: Int, roots: [String]) throws -> (first: Bool, second: Bool?) {
        let run = try startPrep(arguments)
        let first = run.killWhen { publishedFiles(under: roots).count >= target }
        _ = run.finish()
        guard point % 3 == 2 else { return (first, nil) }
        let present = publishedFiles(under: roots).count
        let again = try startPrep(arguments)
        let second = again.killWhen { publishedFiles(under: roots).count > present }
        _ = again.finish()
        return (first, second)
    }

    /// `prep ingest`: 20 kill points (every third rerun is killed once more before it completes).
    func testKill9DuringIngestAtRandomMomentsThenRerunGivesIdenticalOutputs() throws {
        let dataset = try smallDataset()
        let arguments = ["ingest", dataset, "--jobs", "2"]
        let reference = try startPrep(arguments).finish()
        XCTAssertEqual(reference.result.status, 0, reference.result.description)
        let expected = try snapshot([cache, manifests])
        XCTAssertGreaterThan(expected.count, 6)
        let outputs = publishedFiles(under: [cache, manifests]).count
        let targets = Self.killTargets(count: killPoints, outputs: outputs, seed: 0x1C8_41)

        var interrupted = 0, secondKills = 0, secondRuns = 0, bytes = 0
        for (point, target) in targets.enumerated() {
            try? FileManager.default.removeItem(atPath: cache)
            try? FileManager.default.removeItem(atPath: manifests)
            let kills = try killRuns(arguments, point: point, target: target, roots: [cache, manifests])
            if kills.first { interrupted += 1 }
            if let second = kills.second { secondRuns += 1; if second { secondKills += 1 } }
            let rerun = try prep(arguments)
            XCTAssertTrue(rerun.stdout.contains("ingest:"), rerun.stdout)
            bytes += assertSameFiles(try snapshot([cache, manifests]), expected, "ingest kill point \(point) (after \(target) of \(outputs) outputs)")
            XCTAssertEqual(partialFiles(), [], "temp files survived the rerun after kill point \(point)")
        }
        let points = interrupted + secondKills
        print("crash safety, prep ingest: \(points) kill points survived (\(interrupted) of \(killPoints) first kills landed mid-run, \(secondKills) of \(secondRuns) reruns killed again; kills after 0-\(targets.max() ?? 0) of \(outputs) outputs), \(bytes) bytes compared")
        // Each kill waits for an output with at least two more to come: it must land mid-run.
        XCTAssertEqual(interrupted, killPoints, "a kill came after its run had finished: the schedule proves nothing there")
        XCTAssertEqual(secondKills, secondRuns, "a rerun finished before its kill")
    }

    /// `prep features`: 20 kill points over a run of many small shards.
    func testKill9DuringFeaturesAtRandomMomentsThenRerunGivesIdenticalOutputs() throws {
        try prep(["ingest", try smallDataset(), "--jobs", "2"])
        let arguments = ["features"] + Self.featureOptions
        let reference = try startPrep(arguments).finish()
        XCTAssertEqual(reference.result.status, 0, reference.result.description)
        let directory = try featureSetDirectory()
        let expected = try snapshot([directory])
        XCTAssertGreaterThan(expected.count, 5)
        let outputs = publishedFiles(under: [directory]).count
        let targets = Self.killTargets(count: killPoints, outputs: outputs, seed: 0xFEA7)

        var interrupted = 0, secondKills = 0, secondRuns = 0, bytes = 0, reusedAfterKill = 0
        for (point, target) in targets.enumerated() {
            try FileManager.default.removeItem(atPath: directory)
            let kills = try killRuns(arguments, point: point, target: target, roots: [directory])
            if kills.first { interrupted += 1 }
            if let second = kills.second { secondRuns += 1; if second { secondKills += 1 } }
            // Shards published before the kills: whole (renamed into place after fsync), so the
            // rerun must take every one of them as it is and compute only the rest.
            let published = publishedFiles(under: [directory]).filter { $0.hasSuffix(".h5") }.count
            let rerun = try prep(arguments)
            let reused = rerun.stdout.range(of: #"\d+ reused"#, options: .regularExpression)
                .flatMap { Int(rerun.stdout[$0].prefix { $0.isNumber }) } ?? 0
            XCTAssertEqual(reused, published, "kill point \(point): the rerun reused \(reused) of the \(published) shards published before the kill\n\(rerun.stdout)")
            if reused > 0 { reusedAfterKill += 1 }
            bytes += assertSameFiles(try snapshot([directory]), expected, "features kill point \(point) (after \(target) of \(outputs) outputs)")
            XCTAssertEqual(partialFiles(), [], "temp files survived the rerun after kill point \(point)")
            if point % 5 == 4 { try prep(["verify"]) }
        }
        let points = interrupted + secondKills
        print("crash safety, prep features: \(points) kill points survived (\(interrupted) of \(killPoints) first kills landed mid-run, \(secondKills) of \(secondRuns) reruns killed again, \(reusedAfterKill) reruns reused shards published before the kill; kills after 0-\(targets.max() ?? 0) of \(outputs) outputs), \(bytes) bytes compared")
        XCTAssertEqual(interrupted, killPoints, "a kill came after its run had finished: the schedule proves nothing there")
        XCTAssertEqual(secondKills, secondRuns, "a rerun finished before its kill")
        XCTAssertGreaterThanOrEqual(reusedAfterKill, killPoints / 2, "most kills came before any shard was published: reuse is barely tested")
    }

    /// The window between ingest publishing a recording's new cycle audio and writing the
    /// manifests: a kill there left new audio under old manifests, and `prep features` mixed
    /// them (new audio, old labels and identity). Reproduced exactly: the old manifests and
    /// ingest.json put back after a complete ingest of a changed recording.
    func testFeaturesRefuseAudioNewerThanTheManifests() throws {
        let dataset = try smallDataset()
        try prep(["ingest", dataset, "--jobs", "2"])
        try prep(["features"] + Self.featureOptions)
        let saved = try [manifests + "/recordings.csv", manifests + "/cycles.csv", cache + "/ingest.json"]
            .map { ($0, try Data(contentsOf: URL(fileURLWithPath: $0))) }
        // Same cycle times, other labels: the audio is rewritten with the same lengths.
        let changed = dataset + "/" + Self.stems[0] + ".txt"
        let text = try String(contentsOfFile: changed, encoding: .utf8)
        try text.replacingOccurrences(of: "\t0\t0\n", with: "\t1\t0\n").write(toFile: changed, atomically: true, encoding: .utf8)
        let redo = try prep(["ingest", dataset, "--jobs", "2"])
        XCTAssertTrue(redo.stdout.contains("1 processed"), redo.stdout)
        for (path, data) in saved { try data.write(to: URL(fileURLWithPath: path)) }

        let features = try prep(["features", "--num-mel-bins", "64"] + Self.featureOptions, expectStatus: 2)
        XCTAssertTrue(features.stderr.contains("is not the cycle audio"), features.stderr)
        let verify = try prep(["verify"], expectStatus: 1)
        XCTAssertTrue(verify.stderr.contains("not the audio the manifests describe"), verify.stderr)
        try prep(["ingest", dataset, "--jobs", "2"])
        try prep(["features", "--num-mel-bins", "64"] + Self.featureOptions)
        try prep(["verify"])
        print("crash window between audio and manifests: features refused the mixed cache, verify flagged it, a rerun of ingest repaired it")
    }

    /// `train` (used, not changed, by these tests): kill -9 during a tiny run; every checkpoint
    /// that exists loads (`train --eval`), and `--resume` (or a fresh run when no checkpoint was
    /// written yet) completes all epochs.
    func testKill9DuringTrainingLeavesLoadableCheckpointsAndResumeCompletes() throws {
        try prep(["ingest", try smallDataset(), "--jobs", "2"])
        try prep(["features"] + Self.featureOptions)
        let shards = try featureSetDirectory()
        let epochs = 8
        // The sample's train split holds 6 cycles: batch 2 gives 3 steps an epoch (batch 8 trained
        // none, which train now refuses).
        func trainArguments(_ output: String) -> [String] {
            ["--shards", shards, "--model", "ast-tiny", "--epochs", "\(epochs)", "--batch-size", "2", "--threads", "1",
             "--device", "cpu", "--output", output]
        }
        let train = try Fixtures.executable("train")
        let reference = try Running(executableAt: train, trainArguments(workspace + "/runs/reference"), in: workspace).finish()
        XCTAssertEqual(reference.result.status, 0, reference.result.description)

        // Kill points by progress (complete log.jsonl lines = epochs logged, checkpoint temp
        // files), four before the first checkpoint exists and four after, each with work left.
        let epochsLogged = { (output: String) -> Int in
            ((try? String(contentsOfFile: output + "/log.jsonl", encoding: .utf8)) ?? "").filter { $0 == "\n" }.count
        }
        let checkpointBeingWritten = { (output: String) -> Bool in
            ((try? FileManager.default.contentsOfDirectory(atPath: output)) ?? []).contains { $0.contains(".pth.partial-") }
        }
        let schedule: [(String, (String) -> Bool)] = [
            ("at start", { _ in true }),
            ("once the output directory exists", { FileManager.default.fileExists(atPath: $0) }),
            ("while the first checkpoint is written (or once 2 epochs are logged)", { checkpointBeingWritten($0) || epochsLogged($0) >= 2 }),
            ("once epoch 1 is logged", { epochsLogged($0) >= 1 }),
            ("once 2 epochs are logged", { epochsLogged($0) >= 2 }),
            ("while a checkpoint after epoch 3 is written (or once 5 epochs are logged)", { (epochsLogged($0) >= 3 && checkpointBeingWritten($0)) || epochsLogged($0) >= 5 }),
            ("once 5 epochs are logged", { epochsLogged($0) >= 5 }),
            ("once \(epochs - 1) epochs are logged", { epochsLogged($0) >= epochs - 1 }),
        ]
        var interrupted = 0, checkpointsLoaded = 0, resumed = 0, fresh = 0
        var leftovers: [String] = [], tornLogLines: [String] = [], incompleteLogs: [String] = []
        for (point, (moment, condition)) in schedule.enumerated() {
            let output = workspace + "/runs/kill-\(point)"
            let run = try Running(executableAt: train, trainArguments(output), in: workspace)
            if run.killWhen({ condition(output) }) { interrupted += 1 } else { XCTFail("kill point \(point) (\(moment)): the run ended first") }
            _ = run.finish()
            let files = (try? FileManager.default.contentsOfDirectory(atPath: output)) ?? []
            for checkpoint in files.filter({ $0.hasSuffix(".pth") }).sorted() {
                let eval = try Fixtures.run("train", ["--eval", "--checkpoint", output + "/" + checkpoint, "--shards", shards, "--device", "cpu"],
                                            in: workspace)
                XCTAssertEqual(eval.status, 0, "kill point \(point): \(checkpoint) does not load:\n\(eval)")
                checkpointsLoaded += 1
            }
            let completion: ProcessOutput
            if files.contains("last.pth") {
                completion = try Fixtures.run("train", ["--shards", shards, "--output", output, "--resume", "--device", "cpu", "--threads", "1"], in: workspace)
                resumed += 1
            } else {
                completion = try Fixtures.run("train", trainArguments(output), in: workspace)
                fresh += 1
            }
            XCTAssertEqual(completion.status, 0, "kill point \(point): the run after the kill failed:\n\(completion)")
            let final = try Fixtures.run("train", ["--eval", "--checkpoint", output + "/last.pth", "--shards", shards, "--device", "cpu"], in: workspace)
            XCTAssertEqual(final.status, 0, "kill point \(point): last.pth after completion does not load:\n\(final)")
            let after = (try? FileManager.default.contentsOfDirectory(atPath: output)) ?? []
            leftovers += after.filter { $0.hasSuffix(".tmp") || $0.contains(".partial-") }.map { "kill-\(point)/\($0)" }
            let lines = ((try? String(contentsOfFile: output + "/log.jsonl", encoding: .utf8)) ?? "").split(separator: "\n")
            let records = lines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            tornLogLines += lines.filter { line in (try? JSONSerialization.jsonObject(with: Data(line.utf8))) == nil }.map { "kill-\(point): \($0)" }
            if (records.last?["epoch"] as? Int) != epochs { incompleteLogs.append("kill-\(point)") }
        }
        print("crash safety, train: \(interrupted) of \(schedule.count) kill points landed mid-run and survived: \(checkpointsLoaded) checkpoints left by killed runs all load, \(resumed) runs resumed and \(fresh) restarted to completion; temp files left after completion: \(leftovers.isEmpty ? "none" : leftovers.joined(separator: ", ")); unparsable log.jsonl lines: \(tornLogLines.count)")
        XCTAssertEqual(interrupted, schedule.count)
        XCTAssertEqual(leftovers, [], "temp files survived a completed run")
        XCTAssertEqual(tornLogLines, [], "log.jsonl lines that do not parse after a completed run")
        XCTAssertEqual(incompleteLogs, [], "log.jsonl does not end with the last epoch")
        XCTAssertGreaterThan(resumed, 0, "no kill came after a checkpoint: --resume is untested")
        XCTAssertGreaterThan(fresh, 0, "every kill came after a checkpoint: a fresh restart is untested")
    }
}
