import Foundation
import TestSupport
import XCTest

/// Crash safety: kill -9 at seeded pseudo-random moments spread over an uninterrupted run's
/// measured duration; every rerun completes, the final outputs equal the uninterrupted run's
/// byte for byte, and no temp file survives.
final class HardeningCrashTests: HardeningTestCase {
    private let killPoints = 20

    /// Kill point `point`: starts `prep arguments` and kills it after `delays[point]`; every
    /// third point also starts it again and kills that run while it redoes the work left by the
    /// first kill. Returns whether each kill landed while the run was still going.
    private func killRuns(_ arguments: [String], point: Int, delays: [Double]) throws -> (first: Bool, second: Bool) {
        let run = try startPrep(arguments)
        Thread.sleep(forTimeInterval: delays[point])
        let first = run.killNow()
        _ = run.finish()
        guard point % 3 == 2 else { return (first, false) }
        let again = try startPrep(arguments)
        Thread.sleep(forTimeInterval: delays[(point * 7) % delays.count])
        let second = again.killNow()
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
        let delays = Self.killDelays(count: killPoints, over: reference.seconds, seed: 0x1C8_41)

        var interrupted = 0, secondKills = 0, bytes = 0
        for (point, delay) in delays.enumerated() {
            try? FileManager.default.removeItem(atPath: cache)
            try? FileManager.default.removeItem(atPath: manifests)
            let kills = try killRuns(arguments, point: point, delays: delays)
            if kills.first { interrupted += 1 }
            if kills.second { secondKills += 1 }
            let rerun = try prep(arguments)
            XCTAssertTrue(rerun.stdout.contains("ingest:"), rerun.stdout)
            bytes += assertSameFiles(try snapshot([cache, manifests]), expected, "ingest kill point \(point) at \(String(format: "%.3f", delay)) s")
            XCTAssertEqual(partialFiles(), [], "temp files survived the rerun after kill point \(point)")
        }
        let points = interrupted + secondKills
        print("crash safety, prep ingest: \(points) kill points survived (\(interrupted) of \(killPoints) first kills landed mid-run, \(secondKills) reruns killed again; uninterrupted run \(String(format: "%.2f", reference.seconds)) s), \(bytes) bytes compared")
        XCTAssertGreaterThanOrEqual(interrupted, killPoints / 2, "most kills came after the run had finished: the schedule is off")
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
        let delays = Self.killDelays(count: killPoints, over: reference.seconds, seed: 0xFEA7)

        var interrupted = 0, secondKills = 0, bytes = 0, reusedAfterKill = 0
        for (point, delay) in delays.enumerated() {
            try FileManager.default.removeItem(atPath: directory)
            let kills = try killRuns(arguments, point: point, delays: delays)
            if kills.first { interrupted += 1 }
            if kills.second { secondKills += 1 }
            let rerun = try prep(arguments)
            if let match = rerun.stdout.range(of: #"\d+ reused"#, options: .regularExpression),
               let reused = Int(rerun.stdout[match].prefix { $0.isNumber }), reused > 0 {
                reusedAfterKill += 1
            }
            bytes += assertSameFiles(try snapshot([directory]), expected, "features kill point \(point) at \(String(format: "%.3f", delay)) s")
            XCTAssertEqual(partialFiles(), [], "temp files survived the rerun after kill point \(point)")
            if point % 5 == 4 { try prep(["verify"]) }
        }
        let points = interrupted + secondKills
        print("crash safety, prep features: \(points) kill points survived (\(interrupted) of \(killPoints) first kills landed mid-run, \(secondKills) reruns killed again, \(reusedAfterKill) reruns reused shards published before the kill; uninterrupted run \(String(format: "%.2f", reference.seconds)) s), \(bytes) bytes compared")
        XCTAssertGreaterThanOrEqual(interrupted, killPoints / 2, "most kills came after the run had finished: the schedule is off")
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

        let delays = Self.killDelays(count: 8, over: reference.seconds, seed: 0x7EA1)
        var interrupted = 0, checkpointsLoaded = 0, resumed = 0, fresh = 0
        var leftovers: [String] = [], tornLogLines = 0
        for (point, delay) in delays.enumerated() {
            let output = workspace + "/runs/kill-\(point)"
            let run = try Running(executableAt: train, trainArguments(output), in: workspace)
            Thread.sleep(forTimeInterval: delay)
            if run.killNow() { interrupted += 1 }
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
            let log = (try? String(contentsOfFile: output + "/log.jsonl", encoding: .utf8)) ?? ""
            tornLogLines += log.split(separator: "\n").filter { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) == nil }.count
        }
        print("crash safety, train: \(interrupted) kill points survived of \(delays.count) (uninterrupted run \(String(format: "%.2f", reference.seconds)) s): \(checkpointsLoaded) checkpoints left by killed runs all load, \(resumed) runs resumed and \(fresh) restarted to completion; temp files left after completion: \(leftovers.isEmpty ? "none" : leftovers.joined(separator: ", ")); unparsable log.jsonl lines: \(tornLogLines)")
        XCTAssertGreaterThanOrEqual(interrupted, delays.count / 2)
    }
}
