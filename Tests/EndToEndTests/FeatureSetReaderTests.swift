import Durability
import FeatureStore
import Foundation
import TestSupport
import XCTest

/// One reader, two languages: FeatureStore's `FeatureSet` and `python/icbhi_shards.py` read the
/// same rows (ids, labels, fbank bytes) from float32 and float16 shards; the Swift reader's
/// errors name the file at fault.
final class FeatureSetReaderTests: HardeningTestCase {
    private let script = #"""
    import hashlib, json, sys
    import numpy as np
    import icbhi_shards as ic

    fs = ic.FeatureSet(sys.argv[1])
    out = {}
    for split in fs.splits:
        ds = ic.ShardDataset(fs, split=split, as_tensor=False)
        rows = []
        for i in range(len(ds)):
            x, label, meta = ds[i]
            rows.append({"cycle_id": meta["cycle_id"], "label": label, "label2": meta["label2"], "fold": meta["fold"],
                         "patient": meta["patient"], "sha256": hashlib.sha256(np.ascontiguousarray(x, dtype=np.float32).tobytes()).hexdigest()})
        out[split] = rows
    print(json.dumps(out))
    """#

    private func pythonRows(_ directory: String) throws -> [String: [[String: Any]]] {
        let run = try Fixtures.run(executableAt: Fixtures.python3(importing: ["h5py", "numpy"]), ["-c", script, directory],
                                   environment: ["PYTHONPATH": Fixtures.repositoryRoot.appendingPathComponent("python").path])
        XCTAssertEqual(run.status, 0, run.description)
        return try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: [[String: Any]]], run.stdout)
    }

    func testSwiftAndPythonReadTheSameRowsFromFloat32AndFloat16Shards() throws {
        try prep(["ingest", try smallDataset(), "--jobs", "2"])
        try prep(["features"] + Self.featureOptions)
        try prep(["features", "--dtype", "float16"] + Self.featureOptions)
        let names = try FileManager.default.contentsOfDirectory(atPath: cache).filter { $0.hasPrefix("icbhi-") }.sorted()
        XCTAssertEqual(names.count, 2)
        var dtypes: Set<FeatureDType> = []
        for name in names {
            let set = try FeatureSet(directory: cache + "/" + name)
            dtypes.insert(try XCTUnwrap(set.dtype))
            let python = try pythonRows(set.directory)
            XCTAssertEqual(Set(python.keys), Set(set.index.rowsBySplit.keys), name)
            var total = 0
            for (split, expected) in python {
                let rows = try set.rows(split: split)
                XCTAssertEqual(rows.count, expected.count, "\(name) \(split)")
                var buffer = [Float](repeating: 0, count: set.frames * set.bins)
                for (i, row) in rows.rows.enumerated() {
                    let other = expected[i], context = "\(name) \(split) row \(i)"
                    XCTAssertEqual(other["cycle_id"] as? String, row.cycleID, context)
                    XCTAssertEqual(other["label"] as? Int, row.label, context)
                    XCTAssertEqual(other["label2"] as? Int, row.binaryLabel, context)
                    XCTAssertEqual(other["patient"] as? Int, row.patient, context)
                    XCTAssertEqual(other["fold"] as? Int, row.fold ?? -1, context)
                    try buffer.withUnsafeMutableBufferPointer { try rows.read(i, into: $0) }
                    XCTAssertEqual(other["sha256"] as? String, buffer.withUnsafeBytes { FileDigest.sha256(of: $0) }, context)
                }
                total += rows.count
            }
            XCTAssertEqual(total, 31, name)

            // A batch of consecutive rows equals the rows read one by one; metadata of one row.
            let shard = try set.open(set.shards[0])
            XCTAssertEqual(shard.storedDType, set.dtype)
            XCTAssertEqual(shard.attribute("feature_set_id")?.stringValue, set.id)
            let count = min(3, shard.rowCount)
            var batch = [Float](repeating: 0, count: count * shard.rowLength)
            try batch.withUnsafeMutableBufferPointer { try shard.read(rowsAt: 0, count: count, into: $0) }
            for r in 0..<count {
                XCTAssertEqual(Array(batch[(r * shard.rowLength)..<((r + 1) * shard.rowLength)]), try shard.features(ofRow: r))
            }
            let ids = try shard.cycleIDs()
            let metadata = try shard.metadata(ofRow: count - 1)
            XCTAssertEqual(metadata.id, ids[count - 1])
            XCTAssertEqual(try shard.row(ofCycle: metadata.id), count - 1)
            XCTAssertEqual(metadata.split, set.shards[0].split)
            XCTAssertEqual(metadata.binaryLabel, metadata.label == 0 ? 0 : 1)
        }
        XCTAssertEqual(dtypes, [.float32, .float16])

        // Folds select across splits.
        let set = try FeatureSet(directory: cache + "/" + names[0])
        let folds = Set(try set.rows(split: "train").rows.compactMap(\.fold) + (try set.rows(split: "test").rows.compactMap(\.fold)))
        let first = try XCTUnwrap(folds.min())
        XCTAssertTrue(try set.rows(folds: [first]).rows.allSatisfy { $0.fold == first })
    }

    func testReaderErrorsNameTheFile() throws {
        try prep(["ingest", try smallDataset(), "--jobs", "2"])
        try prep(["features"] + Self.featureOptions)
        let directory = try featureSetDirectory()
        let set = try FeatureSet(directory: directory)
        XCTAssertThrowsError(try FeatureSet(directory: workspace + "/nowhere")) { error in
            XCTAssertTrue("\(error)".contains("no index.json"), "\(error)")
        }
        // Shape mismatch: the index claims one row more.
        var index = set.index
        index.shards[0].rows += 1
        try index.write(directory: directory)
        XCTAssertThrowsError(try FeatureSet(directory: directory).open(index.shards[0])) { error in
            XCTAssertTrue("\(error)".contains(index.shards[0].file + ": fbank shape"), "\(error)")
        }
        // Missing shard.
        try set.index.write(directory: directory)
        try FileManager.default.removeItem(atPath: set.path(of: set.shards[0]))
        XCTAssertThrowsError(try FeatureSet(directory: directory).rows(split: set.shards[0].split)) { error in
            XCTAssertTrue("\(error)".contains(set.shards[0].file + ": shard listed in index.json is missing"), "\(error)")
        }
    }
}
