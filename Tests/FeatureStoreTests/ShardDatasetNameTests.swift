import FeatureStore
import Foundation
import TestSupport
import XCTest

/// The Python reader cannot import Swift, so it keeps its own table of the shard's dataset names
/// (`DATASETS` in python/icbhi_shards/__init__.py); this keeps it equal to `ShardDatasetName`'s.
final class ShardDatasetNameTests: XCTestCase {
    func testPythonTableListsTheSwiftNamesInOrder() throws {
        let path = Fixtures.repository("python/icbhi_shards/__init__.py")
        let source = try String(contentsOfFile: path, encoding: .utf8)
        let start = try XCTUnwrap(source.range(of: "\nDATASETS = ("), "\(path): no module-level DATASETS = (...) table")
        let end = try XCTUnwrap(source.range(of: ")", range: start.upperBound..<source.endIndex), "\(path): DATASETS not closed")
        let table = source[start.upperBound..<end.lowerBound]
        let names = table.split(separator: "\"", omittingEmptySubsequences: false).enumerated()
            .filter { $0.offset % 2 == 1 }.map { String($0.element) }
        XCTAssertEqual(names, ShardDatasetName.icbhiLayout.map(\.name), "\(path): DATASETS differs from ShardDatasetName.icbhiLayout")
    }

    func testNamesAreTheFormatsSpelling() {
        // The names are the format (spec, existing caches): a rename must fail here, not pass silently.
        XCTAssertEqual(ShardDatasetName.icbhiLayout.map(\.path), ["/fbank", "/cycle_id", "/recording", "/patient", "/label", "/label2",
                                                                  "/crackle", "/wheeze", "/split", "/fold", "/device", "/location",
                                                                  "/start", "/end"])
        XCTAssertEqual([ShardDatasetName.level, .age, .gender].map(\.name), ["level", "age", "gender"])
        XCTAssertEqual(FeatureSetIndex.LabelTask(name: "1-2", level: "record", classes: ["a"]).datasetName, "task_1_2")
    }
}
