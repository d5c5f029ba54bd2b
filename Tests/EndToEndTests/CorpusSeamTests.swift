import Durability
import Foundation
import HDF5
import TestSupport
import XCTest

/// Issue #22, item 1: ICBHI through the corpus seam gives what it gave before the seam, on the
/// real sample: the same cycles.csv (SHA-256 pinned from a run of the pre-seam build), the same
/// ingest.json keys (no `corpus`), the same feature-set name and id (a hash of the options, the
/// format and cycles.csv: host-independent), index.json's keys and format, and the shard's
/// datasets (ICBHI's label columns, no task columns). The shard bytes themselves were compared
/// with the pre-seam build's on this machine (identical; see the branch's report).
final class CorpusSeamTests: PrepTestCase {
    func testICBHIOutputsAreThoseOfThePreSeamBuild() throws {
        try prep(["ingest", Fixtures.sampleDirectory])
        let cycles = try Data(contentsOf: URL(fileURLWithPath: manifests + "/cycles.csv"))
        XCTAssertEqual(FileDigest.sha256(of: cycles), "e64c9faa410f6c99efb3ac67e0576f8e3b8647a17accf9c58927c13b5de64c4c")
        let state = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: cache + "/ingest.json"))) as? [String: Any])
        XCTAssertEqual(Set(state.keys), ["audioDirectory", "cyclesSHA256", "format", "manifestDirectory", "resampler"])
        XCTAssertEqual(state["format"] as? String, "icbhi-ingest/1")

        try prep(["features"])
        let directory = try featureSetDirectory()
        XCTAssertEqual(URL(fileURLWithPath: directory).lastPathComponent, "icbhi-16k-8s-fbank128-reference-32668d16")
        let index = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: directory + "/index.json"))) as? [String: Any])
        XCTAssertEqual(Set(index.keys), ["bins", "created_at", "feature_set", "format", "frames", "id", "normalisation", "options",
                                         "rows_by_split", "shards", "source", "tool_version"])
        XCTAssertEqual(index["format"] as? String, "icbhi-feature-shards/1")
        XCTAssertEqual(index["id"] as? String, "32668d1620cd2a07")
        let shards = try XCTUnwrap(index["shards"] as? [[String: Any]])
        XCTAssertEqual(shards.map { $0["file"] as? String }, ["train-00000.h5", "test-00000.h5"])
        let file = try HDF5File(path: directory + "/train-00000.h5", mode: .readOnly)
        XCTAssertEqual(try file.children(of: "/").sorted(), ["crackle", "cycle_id", "device", "end", "fbank", "fold", "label", "label2",
                                                               "location", "patient", "recording", "split", "start", "wheeze"])
        XCTAssertEqual(try file.attribute("description")?.stringValue,
                       "ICBHI 2017 breathing cycles as Kaldi-compatible log mel filterbanks (Patch-Mix CL preprocessing); see the project README")
    }
}
