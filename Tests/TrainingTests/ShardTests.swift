import FeatureStore
import Foundation
import Training
import TrainingTestSupport
import XCTest

/// Feature shards in `prep features`' layout (TrainingTestSupport.SyntheticShards) read by ShardCycles.
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
}
