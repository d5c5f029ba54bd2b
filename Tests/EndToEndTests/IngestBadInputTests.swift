import AudioDSP
import Foundation
import ICBHI
import Manifests
import PrepKit
import TestSupport
import XCTest

/// Acceptance (ingest 5): every bad input gets a message naming the file (and line) and the
/// reason, never a crash; default skips and reports, `--strict` fails and writes nothing.
final class IngestBadInputTests: PrepTestCase {
    private let good = "104_1b1_Al_sc_Litt3200"     // 4 kHz, 15.9 s
    private let other = "104_1b1_Lr_sc_Litt3200"

    private func dataset(annotation: String? = nil, for stem: String? = nil) throws -> String {
        let directory = try copiedDataset(from: Fixtures.sampleDirectory,
                                          files: [good + ".wav", good + ".txt", other + ".wav", other + ".txt"])
        if let annotation { try annotation.write(toFile: directory + "/" + (stem ?? other) + ".txt", atomically: true, encoding: .utf8) }
        return directory
    }

    func testMissingDirectoryFailsClearly() throws {
        let result = try prep(["ingest", workspace + "/nowhere"], expectStatus: 2)
        XCTAssertTrue(result.stderr.contains("nowhere: no such directory"), result.stderr)
    }

    func testUnreadableDirectoryFailsClearly() throws {
        let directory = try dataset()
        chmod(directory, 0)
        defer { chmod(directory, 0o755) }
        // A file where a directory is expected.
        let file = try prep(["ingest", directory + "/" + good + ".txt"], expectStatus: 2)
        XCTAssertTrue(file.stderr.contains("not a directory"), file.stderr)
        guard getuid() == 0 else {
            let result = try prep(["ingest", directory], expectStatus: 2)
            XCTAssertTrue(result.stderr.contains(directory), result.stderr)
            return
        }
        // root reads anything: the unreadable directory is tested as nobody (setpriv), with a
        // cache and manifests that nobody may write, so only the directory is in the way.
        let open = workspace + "/for-nobody"
        try FileManager.default.createDirectory(atPath: open, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o777])
        let result = try Fixtures.run(executableAt: Fixtures.tool("setpriv"),
                                      ["--reuid=65534", "--regid=65534", "--clear-groups", try Fixtures.executable("prep"), "ingest", directory,
                                       "--cache", open + "/cache", "--manifests", open + "/manifests", "--metadata", Fixtures.metadataDirectory],
                                      in: open)
        XCTAssertEqual(result.status, 2, "\(result)")
        XCTAssertTrue(result.stderr.contains(directory), result.stderr)
        print("unreadable directory: tested as nobody (setpriv), the tests run as root")
    }

    func testOrphanFilesAreSkippedWithTheirReason() throws {
        let directory = try dataset()
        try FileManager.default.removeItem(atPath: directory + "/" + other + ".wav")
        try FileManager.default.copyItem(atPath: directory + "/" + good + ".wav", toPath: directory + "/105_1b1_Tc_sc_Meditron.wav")
        let result = try prep(["ingest", directory])
        XCTAssertTrue(result.stdout.contains("\(other).txt: annotation without audio"), result.stdout)
        XCTAssertTrue(result.stdout.contains("105_1b1_Tc_sc_Meditron.wav: audio without annotation"), result.stdout)
        XCTAssertEqual(try ManifestStore(directory: manifests).readRecordings().map(\.stem.name), [good])
    }

    func testCorruptTruncatedAndEmptyWAVs() throws {
        let directory = try dataset()
        let wav = directory + "/" + other + ".wav"
        let bytes = try Data(contentsOf: URL(fileURLWithPath: wav))
        try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: wav))
        var result = try prep(["ingest", directory])
        XCTAssertTrue(result.stdout.contains("\(other).wav: truncated"), result.stdout)

        try Data("RIFF garbage, not a wave file at all".utf8).write(to: URL(fileURLWithPath: wav))
        result = try prep(["ingest", directory])
        XCTAssertTrue(result.stdout.contains("\(other).wav: not a readable sound file"), result.stdout)

        try Data().write(to: URL(fileURLWithPath: wav))
        result = try prep(["ingest", directory])
        XCTAssertTrue(result.stdout.contains("\(other).wav: empty file"), result.stdout)
        XCTAssertEqual(try ManifestStore(directory: manifests).readRecordings().map(\.stem.name), [good])
    }

    func testEachBadAnnotationLineIsNamedWithItsLine() throws {
        let text = """
        0.1\t1.0\t0\t0
        0.5\t1.2\t0
        abc\t2.0\t0\t1
        2.0\t3.0\t2\t0
        3.0\t3.0\t0\t0
        -1.0\t0.5\t0\t0
        4.0\t5.0\t1\t1

        """
        let directory = try dataset(annotation: text)
        let result = try prep(["ingest", directory])
        let txt = "\(other).txt"
        for (line, reason) in [(2, "field"), (3, "number"), (4, "flag"), (5, "end"), (6, "negative")] {
            XCTAssertTrue(result.stdout.contains("\(txt):\(line):"), "line \(line) (\(reason)) not reported:\n\(result.stdout)")
        }
        let cycles = try ManifestStore(directory: manifests).readCycles().filter { $0.recording.name == other }
        XCTAssertEqual(cycles.map(\.id), ["\(other)#0", "\(other)#1"])
        XCTAssertEqual(cycles.map(\.label.rawValue), [0, 3])
    }

    func testEmptyAnnotationFileIsSkipped() throws {
        let directory = try dataset(annotation: "\n\n")
        let result = try prep(["ingest", directory])
        XCTAssertTrue(result.stdout.contains("\(other).txt: empty annotation file"), result.stdout)
    }

    func testCyclePastTheEndIsClampedAndEmptyCycleRejected() throws {
        // The recording lasts 15.024 s.
        let directory = try dataset(annotation: "1.0\t2.0\t0\t0\n14.5\t20.0\t1\t0\n16.0\t17.0\t0\t1\n")
        let result = try prep(["ingest", directory])
        XCTAssertTrue(result.stdout.contains("\(other).txt:2: cycle ends at 20.0 s, after the audio"), result.stdout)
        XCTAssertTrue(result.stdout.contains("clamped"), result.stdout)
        XCTAssertTrue(result.stdout.contains("\(other).txt:3: cycle 16.0-17.0 s is empty after clamping"), result.stdout)
        let cycles = try ManifestStore(directory: manifests).readCycles().filter { $0.recording.name == other }
        XCTAssertEqual(cycles.map(\.index), [0, 1])
        let recording = try XCTUnwrap(try ManifestStore(directory: manifests).readRecordings().first { $0.stem.name == other })
        XCTAssertEqual(cycles.last?.sliceEnd, recording.frames16k)
    }

    func testStemThatDoesNotParseAndUnassignedStem() throws {
        let directory = try dataset()
        try FileManager.default.copyItem(atPath: directory + "/" + good + ".wav", toPath: directory + "/patient7_x.wav")
        try FileManager.default.copyItem(atPath: directory + "/" + good + ".txt", toPath: directory + "/patient7_x.txt")
        try FileManager.default.copyItem(atPath: directory + "/" + good + ".wav", toPath: directory + "/999_1b1_Al_sc_Litt3200.wav")
        try FileManager.default.copyItem(atPath: directory + "/" + good + ".txt", toPath: directory + "/999_1b1_Al_sc_Litt3200.txt")
        let result = try prep(["ingest", directory])
        XCTAssertTrue(result.stdout.contains("patient7_x.wav: file name does not parse as an ICBHI stem"), result.stdout)
        XCTAssertTrue(result.stdout.contains("999_1b1_Al_sc_Litt3200.wav: not in the official split"), result.stdout)
        let recordings = try ManifestStore(directory: manifests).readRecordings()
        XCTAssertEqual(recordings.first { $0.stem.name == "999_1b1_Al_sc_Litt3200" }?.split, .unassigned)
    }

    func testOldArchiveNameIsMappedWithANotice() throws {
        let directory = try copiedDataset(from: Fixtures.sampleDirectory, files: ["101_1b1_Al_sc_Meditron.txt", "101_1b1_Al_sc_Meditron.wav"])
        for ext in ["wav", "txt"] {
            try FileManager.default.moveItem(atPath: directory + "/101_1b1_Al_sc_Meditron." + ext, toPath: directory + "/101_1b1_Al_sc_AKGC417L." + ext)
        }
        let result = try prep(["ingest", directory])
        XCTAssertTrue(result.stdout.contains("old archive name, ingested as 101_1b1_Al_sc_Meditron"), result.stdout)
        let recording = try XCTUnwrap(try ManifestStore(directory: manifests).readRecordings().first)
        XCTAssertEqual(recording.stem.name, "101_1b1_Al_sc_Meditron")
        XCTAssertEqual(recording.sourceStem, "101_1b1_Al_sc_AKGC417L")
        XCTAssertEqual(recording.split, .test)
    }

    func testStrictFailsOnAnyProblemAndWritesNothing() throws {
        let directory = try dataset(annotation: "1.0\t2.0\t0\t0\n14.5\t20.0\t1\t0\n")
        let result = try prep(["ingest", directory, "--strict"], expectStatus: 2)
        XCTAssertTrue(result.stderr.contains("--strict"), result.stderr)
        XCTAssertTrue(result.stderr.contains("clamped"), result.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: manifests + "/cycles.csv"))
        let audio = (try? FileManager.default.contentsOfDirectory(atPath: cache + "/audio16k/reference")) ?? []
        XCTAssertEqual(audio, [], "strict run left files behind")

        // A clean dataset passes --strict.
        try "1.0\t2.0\t0\t0\n".write(toFile: directory + "/" + other + ".txt", atomically: true, encoding: .utf8)
        try prep(["ingest", directory, "--strict"])
    }

    /// `--strict` and `prep stats` decide by a problem's kind, never by its wording: rewording a
    /// reason changes neither. `ingest-problems.csv` records the kind; a file from before the
    /// `kind` column still reads (classified as its writer did).
    func testStrictAndStatsDecideByKindNotByWording() throws {
        XCTAssertTrue(IngestPipeline.failsStrictRun(Problem(file: "a.txt", line: 2, reason: "cut to the audio's end", kind: .clampedCycle)))
        XCTAssertTrue(IngestPipeline.failsStrictRun(Problem(file: "a.txt", line: 2, reason: "unusable", kind: .skippedCycle)))
        XCTAssertTrue(IngestPipeline.failsStrictRun(Problem(file: "a.wav", line: nil, reason: "unusable", kind: .skippedFile)))
        XCTAssertFalse(IngestPipeline.failsStrictRun(Problem(file: "a.wav", line: nil, reason: "clamped, skipped", kind: .notice)))

        let directory = try dataset(annotation: "1.0\t2.0\t0\t0\n14.5\t20.0\t1\t0\n16.0\t17.0\t0\t1\n1\t2\t0\t0\textra\n")
        try prep(["ingest", directory])
        let path = ManifestStore(directory: manifests).problemsPath
        let written = try CSVTable(parsing: String(contentsOfFile: path, encoding: .utf8), path: path)
        XCTAssertEqual(written.header, ["severity", "file", "line", "reason", "kind"])
        XCTAssertEqual(written.rows.map { $0[4] }.sorted(), ["clamped_cycle", "notice", "skipped_cycle"])
        let clamped = try XCTUnwrap(written.rows.firstIndex { $0[4] == "clamped_cycle" })
        let notice = try XCTUnwrap(written.rows.firstIndex { $0[4] == "notice" })

        func statistics(_ table: CSVTable) throws -> [String: Any] {
            try table.encoded().write(toFile: path, atomically: true, encoding: .utf8)
            let json = try JSONSerialization.jsonObject(with: Data(try prep(["stats", "--json", "--manifests", manifests]).stdout.utf8))
            return try XCTUnwrap((json as? [String: Any])?["problems"] as? [String: Any])
        }
        // Reasons reworded: the clamped cycle no longer says "clamped", the notice does.
        var reworded = written
        reworded.rows[clamped][3] = "cycle cut to the audio's end"
        reworded.rows[notice][3] = "extra field ignored, nothing clamped"
        var problems = try statistics(reworded)
        XCTAssertEqual(problems["clamped_cycles"] as? Int, 1, "\(problems)")
        XCTAssertEqual(problems["notices"] as? Int, 1, "\(problems)")
        XCTAssertEqual((problems["skipped_cycles"] as? [Any])?.count, 1, "\(problems)")

        // A file written before the kind column: the same counts.
        let legacy = CSVTable(header: Array(written.header.prefix(4)), rows: written.rows.map { Array($0.prefix(4)) })
        problems = try statistics(legacy)
        XCTAssertEqual(problems["clamped_cycles"] as? Int, 1, "\(problems)")
        XCTAssertEqual(problems["notices"] as? Int, 1, "\(problems)")
        XCTAssertEqual((problems["skipped_cycles"] as? [Any])?.count, 1, "\(problems)")
    }

    func testNothingValidExitsNonZero() throws {
        let directory = try copiedDataset(from: Fixtures.sampleDirectory, files: [good + ".wav"])
        try "not a cycle\n".write(toFile: directory + "/" + good + ".txt", atomically: true, encoding: .utf8)
        let result = try prep(["ingest", directory], expectStatus: 2)
        XCTAssertTrue(result.stderr.contains("no valid breathing cycle"), result.stderr)
    }
}
