import Durability
import Foundation
import HDF5
import TestSupport
import XCTest

/// `prep verify` catches every corruption a test can make of a shard, an index, a manifest or
/// the cycle audio; library diagnostics (HDF5, libsndfile) never reach the terminal; temp files
/// of every atomically written output are swept by the next run.
final class HardeningIntegrityTests: HardeningTestCase {
    private var caught = 0, tried = 0

    /// Applies `corrupt`, expects `prep verify` to fail naming `expect`, restores the files.
    private func expectCaught(_ label: String, files: [String], expect: String, _ corrupt: () throws -> Void,
                              file: StaticString = #filePath, line: UInt = #line) throws {
        let saved = files.map { FileManager.default.contents(atPath: $0) }
        tried += 1
        try corrupt()
        let result = try prep(["verify"], expectStatus: nil)
        if result.status == 1, result.stderr.contains(expect) {
            caught += 1
        } else {
            XCTFail("\(label): verify did not catch it (expected exit 1 and '\(expect)')\n\(result)", file: file, line: line)
        }
        XCTAssertEqual(Self.libraryDiagnostics(in: result.stderr + result.stdout), [], label, file: file, line: line)
        for (path, data) in zip(files, saved) {
            unlink(path)
            if let data { _ = FileManager.default.createFile(atPath: path, contents: data) }
        }
    }

    private func editIndex(_ directory: String, _ edit: (inout [String: Any]) -> Void) throws {
        let path = directory + "/index.json"
        var object = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [String: Any]
        edit(&object)
        try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys]).write(to: URL(fileURLWithPath: path))
    }

    func testVerifyCatchesEveryCorruptionOfShardsIndexManifestsAndAudio() throws {
        try prep(["ingest", try smallDataset(), "--jobs", "2"])
        try prep(["features"] + Self.featureOptions)
        try prep(["verify"])
        let directory = try featureSetDirectory()
        let index = directory + "/index.json"
        let shard = directory + "/test-00000.h5", other = directory + "/test-00001.h5"
        let size = try Data(contentsOf: URL(fileURLWithPath: shard)).count

        // Single bit flips spread over the file: superblock, metadata, fbank data, string tables, tail.
        for (n, fraction) in [0.0, 0.001, 0.01, 0.1, 0.3, 0.5, 0.7, 0.9, 0.99, 0.9999].enumerated() {
            let offset = min(size - 1, Int(Double(size) * fraction) + (n == 0 ? 0 : 3))
            try expectCaught("bit flip at byte \(offset)", files: [shard], expect: "test-00000.h5") {
                let handle = try FileHandle(forUpdating: URL(fileURLWithPath: shard))
                try handle.seek(toOffset: UInt64(offset))
                var byte = try handle.read(upToCount: 1)!
                byte[0] ^= 1 << UInt8(n % 8)
                try handle.seek(toOffset: UInt64(offset))
                try handle.write(contentsOf: byte)
                try handle.close()
            }
        }
        // Truncations.
        for keep in [0, 512, size / 2, size - 1] {
            try expectCaught("truncated to \(keep) bytes", files: [shard], expect: "test-00000.h5") {
                XCTAssertEqual(truncate(shard, off_t(keep)), 0)
            }
        }
        try expectCaught("missing shard", files: [shard], expect: "test-00000.h5: missing") { unlink(shard) }
        try expectCaught("stray shard", files: [directory + "/test-00099.h5"], expect: "not in the index") {
            XCTAssertEqual(Self.system(["cp", shard, directory + "/test-00099.h5"]).status, 0)
        }
        // Row-count mismatches in the index.
        try expectCaught("index rows of one shard + 1", files: [index], expect: "fbank shape") {
            try editIndex(directory) { object in
                var shards = object["shards"] as! [[String: Any]]
                let position = shards.firstIndex { $0["file"] as? String == "test-00000.h5" }!
                shards[position]["rows"] = (shards[position]["rows"] as! Int) + 1
                object["shards"] = shards
            }
        }
        try expectCaught("index rows_by_split changed", files: [index], expect: "rows_by_split") {
            try editIndex(directory) { object in
                var rows = object["rows_by_split"] as! [String: Int]
                rows["test", default: 0] += 3
                object["rows_by_split"] = rows
            }
        }
        try expectCaught("index.json truncated", files: [index], expect: "index.json") {
            XCTAssertEqual(truncate(index, 100), 0)
        }
        // Stale index: a shard rewritten after the index (another shard's valid bytes in its place).
        try expectCaught("shard replaced by another valid shard", files: [shard], expect: "test-00000.h5: XXH64") {
            XCTAssertEqual(Self.system(["cp", other, shard]).status, 0)
        }
        // Stale index that even agrees on size and checksum: NaN written into a row, index updated.
        try expectCaught("NaN in a row, index re-hashed", files: [shard, index], expect: "holds NaN or Inf") {
            do {
                let file = try HDF5File(path: shard, mode: .readWrite)
                let fbank = try file.dataset("/fbank")
                var row = try fbank.read(rowsAt: 1, as: Float.self)
                row[17] = .nan
                try row.withUnsafeBufferPointer { try fbank.write(rows: $0, at: 1, count: 1) }
                try file.flush()
            }
            let digest = try FileDigest.xxh64(ofFileAt: shard)
            let bytes = try Data(contentsOf: URL(fileURLWithPath: shard)).count
            try editIndex(directory) { object in
                var shards = object["shards"] as! [[String: Any]]
                let position = shards.firstIndex { $0["file"] as? String == "test-00000.h5" }!
                shards[position]["xxh64"] = digest
                shards[position]["bytes"] = bytes
                object["shards"] = shards
            }
        }
        // Manifests and cycle audio (checked against ingest.json).
        let cycles = manifests + "/cycles.csv", recordings = manifests + "/recordings.csv"
        try expectCaught("cycles.csv bit flip", files: [cycles], expect: "cycles.csv: SHA-256") {
            var data = try Data(contentsOf: URL(fileURLWithPath: cycles))
            data[data.count / 2] ^= 0x04
            try data.write(to: URL(fileURLWithPath: cycles))
        }
        try expectCaught("cycles.csv truncated", files: [cycles], expect: "cycles.csv") {
            XCTAssertEqual(truncate(cycles, 300), 0)
        }
        try expectCaught("cycles.csv missing", files: [cycles], expect: "cycles.csv: missing") { unlink(cycles) }
        try expectCaught("recordings.csv row deleted", files: [recordings], expect: "recordings.csv") {
            var lines = try String(contentsOfFile: recordings, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
            lines.remove(at: 2)
            try lines.joined(separator: "\n").write(toFile: recordings, atomically: false, encoding: .utf8)
        }
        try expectCaught("recordings.csv cycle count edited", files: [recordings], expect: "recordings.csv") {
            let text = try String(contentsOfFile: recordings, encoding: .utf8)
            var lines = text.split(separator: "\n").map(String.init)
            var fields = lines[1].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            let column = lines[0].split(separator: ",").firstIndex(of: "cycles")!
            fields[column] = String(Int(fields[column])! + 1)
            lines[1] = fields.joined(separator: ",")
            try (lines.joined(separator: "\n") + "\n").write(toFile: recordings, atomically: false, encoding: .utf8)
        }
        let audioDirectory = try FileManager.default.contentsOfDirectory(atPath: cache + "/audio16k").first.map { cache + "/audio16k/" + $0 }!
        let audio = audioDirectory + "/" + Self.stems[0] + ".h5"
        try expectCaught("cycle audio truncated", files: [audio], expect: Self.stems[0] + ".h5") {
            XCTAssertEqual(truncate(audio, 4096), 0)
        }
        try expectCaught("cycle audio missing", files: [audio], expect: Self.stems[0] + ".h5") { unlink(audio) }
        try expectCaught("cycle audio header overwritten", files: [audio], expect: Self.stems[0] + ".h5") {
            let handle = try FileHandle(forUpdating: URL(fileURLWithPath: audio))
            try handle.write(contentsOf: Data("garbage!".utf8))
            try handle.close()
        }

        try prep(["verify"])
        print("integrity: prep verify caught \(caught) of \(tried) corruptions (10 bit flips, 4 truncations, missing/stray shard, 3 index edits, 2 stale shards, 5 manifest edits, 3 cycle audio faults); no library diagnostics")
        XCTAssertEqual(caught, tried)
    }

    /// HDF5 prints its error stack per thread unless each thread switches it off; libsndfile
    /// must stay silent too. Corrupt cycle audio read on worker threads, a corrupt shard, corrupt WAVs.
    func testLibraryDiagnosticsNeverReachTheTerminal() throws {
        let dataset = try smallDataset()
        try prep(["ingest", dataset, "--jobs", "2"])
        try prep(["features"] + Self.featureOptions)
        let featureSet = try featureSetDirectory()
        let audioDirectory = try FileManager.default.contentsOfDirectory(atPath: cache + "/audio16k").first.map { cache + "/audio16k/" + $0 }!
        let audio = audioDirectory + "/" + Self.stems[0] + ".h5"
        var checked = 0
        func garble(_ path: String) throws {
            let handle = try FileHandle(forUpdating: URL(fileURLWithPath: path))
            try handle.write(contentsOf: Data("garbage!".utf8))
            try handle.close()
        }

        // features checks the cycle audio before it computes: a corrupt file fails the run, quietly.
        try garble(audio)
        let features = try prep(["features", "--length", "1", "--shard-size", "4", "--jobs", "2"], expectStatus: nil)
        XCTAssertNotEqual(features.status, 0, features.description)
        XCTAssertTrue(features.stderr.contains(Self.stems[0]), features.stderr)
        XCTAssertEqual(features.stderr.split(separator: "\n").count, 1, features.stderr)
        XCTAssertEqual(Self.libraryDiagnostics(in: features.stderr), [], features.stderr)
        checked += 1
        // ingest checks the previous audio's provenance on its worker threads: every file is
        // corrupt, so both threads meet HDF5 errors; all redone, quietly.
        for stem in Self.stems { try garble(audioDirectory + "/" + stem + ".h5") }
        let ingest = try prep(["ingest", dataset, "--jobs", "2"])
        XCTAssertTrue(ingest.stdout.contains("4 processed"), ingest.stdout)
        XCTAssertEqual(Self.libraryDiagnostics(in: ingest.stderr), [], ingest.stderr)
        checked += 1
        // verify on a shard whose superblock is overwritten.
        let shard = featureSet + "/train-00000.h5"
        try garble(shard)
        let verify = try prep(["verify"], expectStatus: 1)
        XCTAssertTrue(verify.stderr.contains("train-00000.h5"), verify.stderr)
        XCTAssertEqual(Self.libraryDiagnostics(in: verify.stderr), [], verify.stderr)
        checked += 1

        // ingest of corrupt WAVs: garbage header, truncated data, not a sound file at all.
        let wav = dataset + "/" + Self.stems[2] + ".wav"
        let original = try Data(contentsOf: URL(fileURLWithPath: wav))
        let corruptions: [(String, Data)] = [
            ("header overwritten", Data("garbage!".utf8) + original.dropFirst(8)),
            ("cut in the data chunk", original.prefix(original.count / 3)),
            ("fmt chunk garbled", original.prefix(20) + Data(repeating: 0xFF, count: 16) + original.dropFirst(36)),
            ("text, not audio", Data("not a wav file\n".utf8)),
        ]
        for (label, bytes) in corruptions {
            try bytes.write(to: URL(fileURLWithPath: wav))
            let result = try prep(["ingest", dataset, "--jobs", "2"], expectStatus: nil)
            XCTAssertEqual(result.status, 0, "\(label): the other recordings remain\n\(result)")
            XCTAssertTrue(result.stdout.contains(Self.stems[2] + ".wav:"), "\(label): the skip names the file\n\(result)")
            XCTAssertEqual(Self.libraryDiagnostics(in: result.stderr), [], "\(label)\n\(result.stderr)")
            XCTAssertEqual(result.stderr.trimmingCharacters(in: .whitespacesAndNewlines), "", "\(label): nothing on stderr\n\(result.stderr)")
            checked += 1
        }
        print("library diagnostics: \(checked) failing HDF5/libsndfile paths (worker threads included), none printed HDF5-DIAG or libsndfile text")
    }

    /// Every atomically written output's temp file is swept by the next run, not only those
    /// of cycle audio and shards (a kill while writing a manifest or ingest.json left them).
    func testTempFilesOfEveryOutputAreSweptByTheNextRun() throws {
        let dataset = try smallDataset()
        try prep(["ingest", dataset, "--jobs", "2"])
        try prep(["features"] + Self.featureOptions)
        let directory = try featureSetDirectory()
        let planted = [manifests + "/.cycles.csv.partial-999999", manifests + "/.recordings.csv.partial-999999",
                       manifests + "/.ingest-problems.csv.partial-999999", cache + "/.ingest.json.partial-999999",
                       directory + "/.index.json.partial-999999"]
        for path in planted { XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data("half".utf8))) }
        try prep(["ingest", dataset, "--jobs", "2"])
        XCTAssertEqual(partialFiles().filter { !$0.contains(directory) }, [], "ingest left temp files of a killed run")
        // features sweeps its own directory when it has work to do.
        try editIndexRemoved(directory)
        try prep(["features"] + Self.featureOptions)
        XCTAssertEqual(partialFiles(), [])
        print("temp-file sweep: \(planted.count) planted temp files of killed writes (manifests, ingest.json, index.json) removed by the next runs")
    }

    private func editIndexRemoved(_ directory: String) throws {
        try FileManager.default.removeItem(atPath: directory + "/index.json")
    }
}
