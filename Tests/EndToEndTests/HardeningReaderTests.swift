import Foundation
import TestSupport
import Training
import TrainingTestSupport
import XCTest

/// Issue #20, the readers (items 2 and 6): a pickle nested 50,000 deep, a payload object in a
/// valid checkpoint, named pipes where files are read, and the messages of damaged inputs,
/// through the real `prep` and `train` binaries. Each test failed before the fix: the deep
/// pickle crashed `train` (exit 139), the payload was not mentioned, a named pipe hung the
/// reader, and the messages named the file twice and quoted HDF5, libsndfile or Foundation.
final class HardeningReaderTests: HardeningTestCase {
    private var shards: String { workspace + "/shards" }

    private func writeShards() throws {
        try SyntheticShards.write(to: shards, train: SyntheticCorpus.make(count: 8, seed: 1), test: SyntheticCorpus.make(count: 4, seed: 2))
    }

    /// The three commands that read a checkpoint given by the user.
    private func readingCommands(_ checkpoint: String) -> [[String]] {
        [["--inspect-checkpoint", checkpoint],
         ["--shards", shards, "--init", checkpoint, "--epochs", "1", "--device", "cpu", "--output", workspace + "/run-\(UUID().uuidString)"],
         ["--eval", "--checkpoint", checkpoint, "--shards", shards, "--device", "cpu"]]
    }

    /// One `train: error: <file>: ...` line, exit 1.
    private func assertOneError(_ result: ProcessOutput, file path: String, contains message: String, _ context: String,
                                file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(result.status, 1, "\(context): \(result)", file: file, line: line)
        XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, "\(context): \(result.stderr)", file: file, line: line)
        XCTAssertTrue(result.stderr.hasPrefix("train: error: \(path): ") && result.stderr.contains(message), "\(context): \(result.stderr)", file: file, line: line)
        XCTAssertEqual(result.stderr.components(separatedBy: path).count, 2, "the file is named once: \(result.stderr)", file: file, line: line)
    }

    /// Issue #20 item 2: `\x80\x02` + `]` x 50,000 + `a` x 49,999 + `.`, alone and inside the
    /// AudioSet state dict, through --inspect-checkpoint, --init and --eval: exit 139 before.
    func testDeeplyNestedPickleIsRefusedByEveryCommand() throws {
        try writeShards()
        let alone = workspace + "/deep.pth", inside = workspace + "/deep-in-state-dict.pth"
        try PickleFixtures.writeCheckpoint(pickle: PickleFixtures.nestedLists(depth: 50_000), to: alone)
        try PickleFixtures.splice(into: CheckpointFixtures.audioSetZip, to: inside, key: "junk", value: PickleFixtures.nestedListsBody(depth: 50_000))
        for checkpoint in [alone, inside] {
            for arguments in readingCommands(checkpoint) {
                let running = try RunningProcess(executableAt: try Fixtures.executable("train"), arguments)
                let (result, seconds) = running.finish()
                assertOneError(result, file: checkpoint, contains: "containers nested more than 1000 levels deep", arguments.joined(separator: " "))
                print("\(URL(fileURLWithPath: checkpoint).lastPathComponent) \(arguments[0]): exit \(result.status) in \(String(format: "%.2f", seconds)) s: \(result.stderr.trimmingCharacters(in: .newlines))")
            }
        }
    }

    /// Issue #20 item 6: `os.system("touch PWNED")` spliced into a valid state dict is never run
    /// (as before) and is now named in the load report of --inspect-checkpoint, --init and --eval.
    func testPayloadObjectInAValidCheckpointIsNamedAsSkipped() throws {
        try writeShards()
        let checkpoint = workspace + "/payload.pth"
        try PickleFixtures.splice(into: CheckpointFixtures.astTinyCheckpoint, to: checkpoint, key: "evil", value: PickleFixtures.systemCall)
        let skipped = "skipped 1 object of classes this reader does not run: evil (posix.system)"
        let inspect = try Fixtures.run("train", ["--inspect-checkpoint", checkpoint], in: workspace)
        XCTAssertEqual(inspect.status, 0, "\(inspect)")
        XCTAssertTrue(inspect.stdout.contains("loaded: ") && inspect.stdout.contains(skipped), inspect.stdout)
        let initialised = try Fixtures.run("train", ["--shards", shards, "--init", checkpoint, "--epochs", "1", "--batch-size", "4", "--heads", "4",
                                                     "--threads", "1", "--device", "cpu", "--output", workspace + "/run"], in: workspace)
        XCTAssertEqual(initialised.status, 0, "\(initialised)")
        XCTAssertTrue(initialised.stdout.contains("init: ") && initialised.stdout.contains(skipped), initialised.stdout)
        // --eval needs a classifier: the same payload in the checkpoint that run wrote.
        let trained = workspace + "/trained-payload.pth"
        try PickleFixtures.splice(into: workspace + "/run/last.pth", to: trained, key: "evil", value: PickleFixtures.systemCall)
        let evaluated = try Fixtures.run("train", ["--shards", shards, "--eval", "--checkpoint", trained,
                                                   "--threads", "1", "--device", "cpu"], in: workspace)
        XCTAssertEqual(evaluated.status, 0, "\(evaluated)")
        XCTAssertTrue(evaluated.stdout.contains("\(trained): \(skipped)"), evaluated.stdout)
        XCTAssertFalse(FileManager.default.fileExists(atPath: workspace + "/PWNED"), "the payload ran")
    }

    /// Issue #20 item 6: `mkfifo f.pth; train --inspect-checkpoint f.pth` waited for a writer
    /// forever. Named pipes (and directories) as checkpoints and shards are refused unopened.
    func testNamedPipesAreRefusedNotOpened() throws {
        try writeShards()
        let fifo = workspace + "/f.pth"
        try FIFOGuard.make(fifo)
        for arguments in readingCommands(fifo) {
            let (result, hung) = try FIFOGuard.run("train", arguments, releasing: fifo)
            XCTAssertFalse(hung, "train \(arguments.joined(separator: " ")) waited on the named pipe")
            assertOneError(result, file: fifo, contains: "not a regular file (a named pipe)", arguments[0])
        }
        let directory = workspace + "/d.pth"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        assertOneError(try Fixtures.run("train", ["--inspect-checkpoint", directory]), file: directory,
                       contains: "not a regular file (a directory)", "directory")

        // A shard replaced by a named pipe: train and prep verify.
        let shard = shards + "/test-00000.h5"
        try FileManager.default.removeItem(atPath: shard)
        try FIFOGuard.make(shard)
        let (trained, trainHung) = try FIFOGuard.run("train", ["--shards", shards, "--model", "ast-tiny", "--epochs", "1", "--device", "cpu",
                                                               "--output", workspace + "/fifo-run"], releasing: shard)
        XCTAssertFalse(trainHung, "train waited on the named pipe")
        assertOneError(trained, file: shard, contains: "not a regular file (a named pipe)", "train")
        let (verified, verifyHung) = try FIFOGuard.run("prep", ["verify", shards, "--cache", cache], releasing: shard)
        XCTAssertFalse(verifyHung, "prep verify waited on the named pipe")
        XCTAssertEqual(verified.status, 1, "\(verified)")
        XCTAssertTrue(verified.stderr.contains("\(shard): not a regular file (a named pipe)\n"), "\(verified)")
        XCTAssertEqual(verified.stderr.components(separatedBy: shard).count, 2, "one finding, the file named once: \(verified)")

        // A recording's audio, then its annotation, as named pipes under `prep ingest`: skipped, named.
        for (index, suffix) in [".wav", ".txt"].enumerated() {
            let dataset = try copiedDataset(from: Fixtures.sampleDirectory, files: Self.stems.flatMap { [$0 + ".wav", $0 + ".txt"] }, name: "icbhi\(index)")
            let pipe = dataset + "/" + Self.stems[1] + suffix
            try FileManager.default.removeItem(atPath: pipe)
            try FIFOGuard.make(pipe)
            let (ingested, ingestHung) = try FIFOGuard.run("prep", prepArguments(["ingest", dataset]), releasing: pipe)
            XCTAssertFalse(ingestHung, "prep ingest waited on \(pipe)")
            XCTAssertEqual(ingested.status, 0, "\(ingested)")
            XCTAssertTrue(ingested.stdout.contains("\(pipe): not a regular file (a named pipe)"), "\(ingested)")
        }
    }

    /// Issue #20 item 6: each message names the file once and the cause in words: a WAV with
    /// zero channels, a truncated shard (prep verify, train), a result.json without `method`.
    func testDamagedInputsAreDescribedInWordsNamingTheFileOnce() throws {
        // A WAV whose header declares zero channels, under `prep ingest`.
        let dataset = try copiedDataset(from: Fixtures.sampleDirectory, files: Self.stems.flatMap { [$0 + ".wav", $0 + ".txt"] })
        let wav = dataset + "/" + Self.stems[0] + ".wav"
        var bytes = try Data(contentsOf: URL(fileURLWithPath: wav))
        bytes[22] = 0
        bytes[23] = 0
        try bytes.write(to: URL(fileURLWithPath: wav))
        let ingest = try prep(["ingest", dataset])
        XCTAssertTrue(ingest.stdout.contains("\(wav): not a readable sound file: the header declares zero audio channels"), ingest.stdout)
        assertPlain(ingest.stdout + ingest.stderr, naming: wav)

        // A truncated shard under `prep verify` and `train`.
        try writeShards()
        let shard = shards + "/test-00000.h5"
        let whole = try Data(contentsOf: URL(fileURLWithPath: shard))
        try whole.prefix(whole.count / 2).write(to: URL(fileURLWithPath: shard))
        let verify = try prep(["verify", shards], expectStatus: 1)
        XCTAssertTrue(verify.stderr.contains("\(shard): not a readable HDF5 file: truncated"), "\(verify)")
        assertPlain(verify.stdout + verify.stderr, naming: shard)
        let trained = try Fixtures.run("train", ["--shards", shards, "--model", "ast-tiny", "--epochs", "1", "--device", "cpu", "--output", workspace + "/run"])
        assertOneError(trained, file: shard, contains: "not a readable HDF5 file: truncated", "train")
        assertPlain(trained.stderr, naming: shard)

        // `train report` on a result.json without `method`.
        try FileManager.default.removeItem(atPath: shards)
        try writeShards()
        let run = workspace + "/finished"
        let trainedOK = try Fixtures.run("train", ["--shards", shards, "--model", "ast-tiny", "--epochs", "1", "--batch-size", "4",
                                                   "--threads", "1", "--device", "cpu", "--output", run])
        XCTAssertEqual(trainedOK.status, 0, "\(trainedOK)")
        let resultPath = run + "/result.json"
        var object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: resultPath))) as? [String: Any])
        object["method"] = nil
        try JSONSerialization.data(withJSONObject: object).write(to: URL(fileURLWithPath: resultPath))
        let report = try Fixtures.run("train", ["report", run])
        XCTAssertEqual(report.status, 1, "\(report)")
        XCTAssertTrue(report.stderr.contains("\(resultPath): not a run result: the field \"method\" is missing"), report.stderr)
        assertPlain(report.stderr, naming: resultPath)
    }

    /// No library or Swift internals, and `file` named at most once per line.
    private func assertPlain(_ output: String, naming file: String, line: UInt = #line) {
        for marker in ["H5F", "H5D", "H5O", "sf_open", "Error Domain", "DecodingError", "CodingKeys", "NSCocoa", "unknown error"] {
            XCTAssertFalse(output.contains(marker), "\(marker) in: \(output)", line: line)
        }
        for text in output.split(separator: "\n") where text.components(separatedBy: file).count > 2 {
            XCTFail("\(file) named twice: \(text)", line: line)
        }
    }
}
