import Durability
import FeatureStore
import Foundation
import HDF5
import Training
import XCTest

/// Writes a feature set in the `prep features` shard layout (icbhi-feature-shards/1).
enum SyntheticShards {
    /// `patient` and `fold` give row r of a split its patient and patient-wise fold.
    static func write(to directory: String, train: InMemoryCycles, test: InMemoryCycles, featureSet: String = "synthetic",
                      id: String = "0123abcd", options: [String: FeatureSetIndex.OptionValue] = [:], patient: (_ split: String, _ row: Int) -> Int32 = { _, _ in 101 },
                      fold: (_ split: String, _ row: Int) -> Int8 = { _, _ in 0 }) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var shards: [FeatureSetIndex.Shard] = []
        for (split, data) in [("train", train), ("test", test)] {
            let name = "\(split)-00000.h5"
            let n = data.count
            do {   // the file closes (H5Fclose on deinit) at the end of this scope, before it is hashed
                let file = try HDF5File(path: directory + "/" + name, mode: .create)
                let fbank = try file.createDataset("/fbank", of: Float.self, shape: [n, data.frames, data.bins],
                                                   options: DatasetOptions(chunks: [1, data.frames, data.bins]))
                try fbank.writeAll(data.features)
                try file.write(data.labels.map { Int8($0) }, shape: [n], to: "/label")
                try file.write(data.labels.map { Int8($0 == 0 ? 0 : 1) }, shape: [n], to: "/label2")
                try file.write(data.labels.map { Int8($0 & 1) }, shape: [n], to: "/crackle")
                try file.write(data.labels.map { Int8($0 >> 1) }, shape: [n], to: "/wheeze")
                try file.write((0..<n).map { patient(split, $0) }, shape: [n], to: "/patient")
                try file.write((0..<n).map { fold(split, $0) }, shape: [n], to: "/fold")
                try file.write((0..<n).map { Double($0) }, shape: [n], to: "/start")
                try file.write((0..<n).map { Double($0) + 1 }, shape: [n], to: "/end")
                try file.write(strings: (0..<n).map { "\(split)_\($0)" }, to: "/cycle_id")
                try file.write(strings: [String](repeating: split, count: n), to: "/split")
            }
            let bytes = try FileManager.default.attributesOfItem(atPath: directory + "/" + name)[.size] as? Int ?? 0
            shards.append(.init(file: name, split: split, rows: n, bytes: bytes,
                                sha256: try FileDigest.sha256(ofFileAt: directory + "/" + name)))
        }
        let index = FeatureSetIndex(
            featureSet: featureSet, id: id, frames: train.frames, bins: train.bins, createdAt: "2026-01-01T00:00:00Z",
            toolVersion: "test", options: options, normalisation: .init(kind: "none", mean: 0, std: 0.5, scale: 2),
            source: [:], rowsBySplit: ["train": train.count, "test": test.count], shards: shards)
        try index.write(directory: directory)
    }
}

final class ShardTests: XCTestCase {
    func testShardCyclesReadRowsAndLabels() throws {
        let dir = try Paths.temporaryDirectory("shards")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let train = SyntheticCorpus.make(count: 12, seed: 1), test = SyntheticCorpus.make(count: 7, seed: 2)
        try SyntheticShards.write(to: dir, train: train, test: test)
        let cycles = try ShardCycles(directory: dir, split: "test")
        XCTAssertEqual(cycles.count, 7)
        XCTAssertEqual(cycles.labels, test.labels)
        XCTAssertEqual(cycles.labels(classes: 2), test.labels.map { $0 == 0 ? 0 : 1 })
        XCTAssertEqual(cycles.cycleIDs[3], "test_3")
        let n = test.frames * test.bins
        var row = [Float](repeating: 0, count: n)
        try row.withUnsafeMutableBufferPointer { try cycles.readFeatures(5, into: $0) }
        XCTAssertEqual(row, Array(test.features[(5 * n)..<(6 * n)]))
        XCTAssertThrowsError(try ShardCycles(directory: dir, split: "validation")) { error in
            XCTAssertTrue("\(error)".contains("no cycles"), "\(error)")
        }
        XCTAssertThrowsError(try ShardCycles(directory: dir + "/nowhere", split: "train")) { error in
            XCTAssertTrue("\(error)".contains("no index.json"), "\(error)")
        }
    }

    /// Typed options and the all-string options of indexes written by older `prep` both open.
    func testShardCyclesReadTypedAndOldStringIndexes() throws {
        let dir = try Paths.temporaryDirectory("options")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let train = SyntheticCorpus.make(count: 4, seed: 1), test = SyntheticCorpus.make(count: 3, seed: 2)
        let typed: [String: FeatureSetIndex.OptionValue] = ["dtype": "float32", "length_samples": 128_000, "fbank_htkCompat": true,
                                                           "fbank_preemphasisCoefficient": 0.97]
        let old: [String: FeatureSetIndex.OptionValue] = ["dtype": "float32", "length_samples": "128000", "fbank_htkCompat": "1",
                                                         "fbank_preemphasisCoefficient": "0.97"]
        for options in [typed, old] {
            try SyntheticShards.write(to: dir, train: train, test: test, options: options)
            let cycles = try ShardCycles(directory: dir, split: "test")
            XCTAssertEqual(cycles.count, 3)
            XCTAssertEqual(cycles.labels, test.labels)
        }
    }

    /// The `train` executable end to end: train, re-evaluate the best checkpoint, resume a
    /// finished run, and the error for missing shards.
    func testTrainCommandEndToEnd() throws {
        let dir = try Paths.temporaryDirectory("cli")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try SyntheticShards.write(to: dir + "/shards", train: SyntheticCorpus.make(count: 48, seed: 1),
                                  test: SyntheticCorpus.make(count: 20, seed: 2))
        let trained = try Products.run("train", ["--shards", dir + "/shards", "--model", "ast-tiny", "--epochs", "2",
                                                 "--threads", "1", "--no-spec-augment", "--output", dir + "/run"])
        XCTAssertEqual(trained.status, 0, trained.stderr)
        XCTAssertTrue(trained.stdout.contains("epoch   2/2"), trained.stdout)
        XCTAssertTrue(trained.stdout.contains("confusion matrix"), trained.stdout)
        let log = try String(contentsOfFile: dir + "/run/log.jsonl", encoding: .utf8)
        XCTAssertEqual(log.split(separator: "\n").count, 2)

        let checkpoint = FileManager.default.fileExists(atPath: dir + "/run/best.pth") ? "best.pth" : "last.pth"
        let evaluated = try Products.run("train", ["--shards", dir + "/shards", "--eval", "--checkpoint", dir + "/run/" + checkpoint])
        XCTAssertEqual(evaluated.status, 0, evaluated.stderr)
        XCTAssertTrue(evaluated.stdout.contains("2-class: Sp"), evaluated.stdout)

        let resumed = try Products.run("train", ["--shards", dir + "/shards", "--resume", "--output", dir + "/run"])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertTrue(resumed.stdout.contains("resumed from"), resumed.stdout)

        let missing = try Products.run("train", ["--shards", dir + "/none", "--model", "ast-tiny", "--output", dir + "/x"])
        XCTAssertEqual(missing.status, 1)
        XCTAssertTrue(missing.stderr.contains("no index.json"), missing.stderr)
    }
}
