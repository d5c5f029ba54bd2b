import Foundation
import XCTest
@testable import FeatureStore

/// What `--shards`, `prep verify` and `prep show` accept as a feature set: its directory, a name
/// under the cache, or a directory holding exactly one (said); several are listed, newest first.
final class FeatureSetLocationTests: XCTestCase {
    private var cache: String!

    override func setUpWithError() throws {
        cache = FileManager.default.temporaryDirectory.appendingPathComponent("location-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: cache, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: cache) }

    /// An index alone is enough for locating (shards are checked when the set is opened).
    private func writeIndex(_ name: String, createdAt: String, dtype: String, rows: Int) throws {
        let directory = cache + "/" + name
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try FeatureSetIndex(featureSet: name, id: name, frames: 798, bins: 128, createdAt: createdAt, toolVersion: "test",
                            options: ["dtype": .string(dtype), "length_samples": 128000],
                            normalisation: .init(kind: "audioset", mean: -4.27, std: 4.57, scale: 2), source: [:],
                            rowsBySplit: ["train": rows, "test": rows / 2], shards: []).write(directory: directory)
    }

    private func message(_ body: () throws -> FeatureSetLocation.Found) -> String {
        do {
            let found = try body()
            XCTFail("expected an error, found \(found.directory)")
            return ""
        } catch {
            return "\(error)"
        }
    }

    func testACacheHoldingOneFeatureSetStandsForItAndSaysSo() throws {
        try writeIndex("older", createdAt: "2026-01-01T00:00:00Z", dtype: "float32", rows: 10)
        XCTAssertEqual(try FeatureSetLocation.resolve(cache + "/older", option: "--shards"),
                       .init(directory: cache + "/older", note: nil))
        XCTAssertEqual(try FeatureSetLocation.resolve("older", cacheDirectory: cache, option: "--shards").directory, cache + "/older")
        let only = try FeatureSetLocation.resolve(cache, option: "--shards")
        XCTAssertEqual(only.directory, cache + "/older")
        XCTAssertEqual(only.note, "using feature set \(cache!)/older (the only one in \(cache!))")
    }

    func testSeveralAreListedNewestFirstWithWhatTellsThemApart() throws {
        try writeIndex("older", createdAt: "2026-01-01T00:00:00Z", dtype: "float32", rows: 10)
        try writeIndex("newer", createdAt: "2026-03-01T00:00:00Z", dtype: "float16", rows: 12)
        let text = message { try FeatureSetLocation.resolve(cache, option: "--shards") }
        XCTAssertTrue(text.contains("holds 2 feature sets; choose one with --shards"), text)
        let newer = try XCTUnwrap(text.range(of: cache + "/newer  2026-03-01T00:00:00Z  rows: test 6, train 12  dtype=float16"), text)
        let older = try XCTUnwrap(text.range(of: cache + "/older  2026-01-01T00:00:00Z  rows: test 5, train 10  dtype=float32"), text)
        XCTAssertLessThan(newer.lowerBound, older.lowerBound, "newest first: \(text)")
        XCTAssertFalse(text.contains("length_samples"), "options the sets share are not listed: \(text)")
    }

    func testNothingThereIsAClearError() throws {
        XCTAssertTrue(message { try FeatureSetLocation.resolve(cache + "/none", option: "--shards") }.contains("no index.json"))
        XCTAssertTrue(message { try FeatureSetLocation.resolve(cache, option: "--shards") }.contains("no feature set in this directory"))
        XCTAssertTrue(message { try FeatureSetLocation.only(in: cache, option: "--feature-set") }.contains("run `prep features` first"))
    }
}
