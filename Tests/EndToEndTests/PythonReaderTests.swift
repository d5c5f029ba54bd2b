import Durability
import FeatureStore
import Foundation
import HDF5
import Manifests
import TestSupport
import XCTest

/// Acceptance 5: `python/icbhi_shards.py` (Debian's python3 with h5py and numpy) reads every row
/// of a feature set made by the real `prep features`, and agrees with the Swift HDF5 reader and
/// with `h5dump` (hdf5-tools).
final class PythonReaderTests: PrepTestCase {

    /// Reads the whole feature set through the module and prints a JSON digest: per row the
    /// SHA-256 of the float32 bytes, the float64 sum and the metadata; the de-normalised view;
    /// the same rows through a torch DataLoader with two worker processes.
    private let digestScript = #"""
    import hashlib, json, os, sys, tempfile
    import numpy as np
    import icbhi_shards as ic

    fs = ic.FeatureSet(sys.argv[1])
    out = {"torch": ic.torch is not None, "name": fs.name, "frames": fs.frames, "bins": fs.bins,
           "splits": fs.splits, "length": len(fs), "rows": [], "class_counts": {}}
    for split in fs.splits:
        ds = ic.ShardDataset(fs, split=split, as_tensor=False)
        assert len(ds) == fs.rows_by_split[split], (split, len(ds))
        out["class_counts"][split] = fs.class_counts(split)
        for i in range(len(ds)):
            x, label, meta = ds[i]
            assert isinstance(x, np.ndarray) and x.dtype == np.float32 and x.shape == (fs.frames, fs.bins), x.shape
            row = {k: meta[k] for k in ic.METADATA_FIELDS + ("shard", "row", "label_name")}
            row.update(label=label, sha256=hashlib.sha256(x.tobytes()).hexdigest(), sum=float(x.astype(np.float64).sum()))
            out["rows"].append(row)
        try:
            ds[len(ds)]
            raise AssertionError("no IndexError past the end")
        except IndexError:
            pass
        assert ds[-1][2]["cycle_id"] == out["rows"][-1]["cycle_id"]

    raw = ic.ShardDataset(fs, split=fs.splits[0], normalised=False, as_tensor=False)
    out["raw_first"] = raw[0][0][:3, :5].astype(np.float64).tolist()
    out["verify"] = fs.verify()
    with tempfile.TemporaryDirectory() as empty:
        try:
            ic.FeatureSet(empty)
            out["missing_index_error"] = None
        except ic.FormatError as error:
            out["missing_index_error"] = str(error)

    if ic.torch is not None:
        import torch
        ds = ic.ShardDataset(fs, split=fs.splits[0])
        x, _, _ = ds[0]                       # opens a shard in the parent before the workers fork
        assert isinstance(x, torch.Tensor) and x.dtype == torch.float32
        loader = torch.utils.data.DataLoader(ds, batch_size=4, shuffle=False, num_workers=2)
        ids, digests = [], []
        for xb, lb, mb in loader:
            assert xb.shape[1:] == (fs.frames, fs.bins)
            ids += list(mb["cycle_id"])
            digests += [hashlib.sha256(xb[j].numpy().tobytes()).hexdigest() for j in range(xb.shape[0])]
        out["dataloader"] = {"split": fs.splits[0], "ids": ids, "sha256": digests}
    print(json.dumps(out))
    """#

    /// A python3 on PATH with h5py, numpy and torch (`make setup` installs them; missing: the test fails, saying so).
    private var python: String { get throws { try Fixtures.python3(importing: ["h5py", "numpy", "torch"]) } }

    /// Data of one dataset as `h5dump` prints it (the values between `DATA {` and `}`).
    private func h5dump(_ arguments: [String], file: String) throws -> String {
        let result = try Fixtures.run(executableAt: Fixtures.tool("h5dump"), ["-A", "0", "-y", "-w", "0"] + arguments + [file])
        guard result.status == 0 else { throw FixtureError("h5dump \(arguments) \(file):\n\(result)") }
        guard let open = result.stdout.range(of: "DATA {"),
              let close = result.stdout.range(of: "}", range: open.upperBound..<result.stdout.endIndex) else {
            throw FixtureError("no DATA block in h5dump output:\n\(result.stdout)")
        }
        return String(result.stdout[open.upperBound..<close.lowerBound])
    }

    func testPythonDatasetReadsEveryRowAndAgreesWithSwiftAndH5dump() throws {
        try prep(["ingest", try linkedDataset(from: [Fixtures.sampleDirectory])])
        try prep(["features", "--shard-size", "16"])          // several shards per split
        let directory = try featureSetDirectory()
        let index = try FeatureSetIndex.read(directory: directory)
        XCTAssertGreaterThan(index.shards.count, 2)

        let script = workspace + "/digest.py"
        try digestScript.write(toFile: script, atomically: true, encoding: .utf8)
        let run = try Fixtures.run(executableAt: python, [script, directory],
                                           environment: ["PYTHONPATH": Fixtures.repositoryRoot.appendingPathComponent("python").path])
        XCTAssertEqual(run.status, 0, "\(run)")
        let digest = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any], run.stdout)
        let rows = try XCTUnwrap(digest["rows"] as? [[String: Any]])
        XCTAssertEqual(digest["name"] as? String, index.featureSet)
        XCTAssertEqual(digest["length"] as? Int, index.shards.reduce(0) { $0 + $1.rows })
        XCTAssertEqual((digest["verify"] as? [String])?.isEmpty, true, "\(digest["verify"] ?? "")")
        XCTAssertTrue((digest["missing_index_error"] as? String)?.contains("missing: not a complete feature set") ?? false)

        // Every row, in index order, against the Swift reader: identical float32 bytes and metadata.
        var position = 0
        var swiftDigests: [String: String] = [:]
        for shard in index.shards {
            let file = try HDF5File(path: directory + "/" + shard.file, mode: .readOnly)
            let fbank = try file.dataset("/fbank")
            let ids = try file.readStrings("/cycle_id"), recordings = try file.readStrings("/recording")
            let devices = try file.readStrings("/device"), locations = try file.readStrings("/location")
            let labels = try file.read("/label", as: Int8.self).0, folds = try file.read("/fold", as: Int8.self).0
            let patients = try file.read("/patient", as: Int32.self).0, starts = try file.read("/start", as: Double.self).0
            let ends = try file.read("/end", as: Double.self).0, crackles = try file.read("/crackle", as: Int8.self).0
            for row in 0..<shard.rows {
                let values = try fbank.read(rowsAt: row, as: Float.self)
                let sha = values.withUnsafeBytes { FileDigest.sha256(of: $0) }
                swiftDigests[ids[row]] = sha
                let python = rows[position]
                let where_ = "\(shard.file) row \(row)"
                XCTAssertEqual(python["cycle_id"] as? String, ids[row], where_)
                XCTAssertEqual(python["shard"] as? String, shard.file, where_)
                XCTAssertEqual(python["row"] as? Int, row, where_)
                XCTAssertEqual(python["split"] as? String, shard.split, where_)
                XCTAssertEqual(python["sha256"] as? String, sha, "fbank bytes, \(where_)")
                let sum = values.reduce(0.0) { $0 + Double($1) }
                XCTAssertEqual(try XCTUnwrap(python["sum"] as? Double), sum, accuracy: 1e-6 * max(1, abs(sum)), where_)
                XCTAssertEqual(python["label"] as? Int, Int(labels[row]), where_)
                XCTAssertEqual(python["label_name"] as? String, ["normal", "crackle", "wheeze", "both"][Int(labels[row])], where_)
                XCTAssertEqual(python["recording"] as? String, recordings[row], where_)
                XCTAssertEqual(python["device"] as? String, devices[row], where_)
                XCTAssertEqual(python["location"] as? String, locations[row], where_)
                XCTAssertEqual(python["patient"] as? Int, Int(patients[row]), where_)
                XCTAssertEqual(python["fold"] as? Int, Int(folds[row]), where_)
                XCTAssertEqual(python["crackle"] as? Int, Int(crackles[row]), where_)
                XCTAssertEqual(python["start"] as? Double, starts[row], where_)
                XCTAssertEqual(python["end"] as? Double, ends[row], where_)
                position += 1
            }
        }
        XCTAssertEqual(position, rows.count, "the module read every row once")

        // Class counts agree with the manifest.
        let cycles = try ManifestStore(directory: manifests).readCycles()
        let counts = try XCTUnwrap(digest["class_counts"] as? [String: [String: Int]])
        for split in index.rowsBySplit.keys {
            for (label, name) in ["normal", "crackle", "wheeze", "both"].enumerated() {
                XCTAssertEqual(counts[split]?[name], cycles.filter { $0.split.rawValue == split && $0.label.rawValue == label }.count)
            }
        }

        // normalised=False undoes the stored normalisation: x * scale * std + mean (float32, 1e-5).
        let first = try XCTUnwrap(index.shards.first)
        let stored = try HDF5File(path: directory + "/" + first.file, mode: .readOnly).dataset("/fbank").read(rowsAt: 0, as: Float.self)
        let raw = try XCTUnwrap(digest["raw_first"] as? [[Double]])
        let n = index.normalisation
        for frame in 0..<3 {
            for bin in 0..<5 {
                let expected = Double(stored[frame * index.bins + bin]) * n.scale * n.std + n.mean
                XCTAssertEqual(raw[frame][bin], expected, accuracy: 1e-5)
            }
        }

        // h5dump, the HDF5 project's own tool: every shard's labels and ids, and its first and last
        // fbank rows (printed with 9 significant digits, which round-trip float32 exactly).
        position = 0
        for shard in index.shards {
            let path = directory + "/" + shard.file
            let shardRows = rows[position..<(position + shard.rows)]
            let labels = try h5dump(["-d", "/label"], file: path).split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
            XCTAssertEqual(labels, shardRows.map { $0["label"] as? Int }, "h5dump /label of \(shard.file)")
            let ids = try h5dump(["-d", "/cycle_id"], file: path).split(separator: "\"").enumerated()
                .filter { $0.offset % 2 == 1 }.map { $0.element.replacingOccurrences(of: "\\000", with: "") }
            XCTAssertEqual(ids, shardRows.map { $0["cycle_id"] as? String ?? "" }, "h5dump /cycle_id of \(shard.file)")
            for row in Set([0, shard.rows - 1]) {
                let text = try h5dump(["-d", "/fbank", "-s", "\(row),0,0", "-c", "1,\(index.frames),\(index.bins)", "-m", "%.9g"], file: path)
                let values = text.split { $0 == "," || $0.isWhitespace }.compactMap { Float(String($0)) }
                XCTAssertEqual(values.count, index.frames * index.bins)
                let sha = values.withUnsafeBytes { FileDigest.sha256(of: $0) }
                XCTAssertEqual(shardRows[position + row]["sha256"] as? String, sha, "h5dump /fbank row \(row) of \(shard.file)")
            }
            position += shard.rows
        }

        // Through torch's DataLoader with two worker processes: the same rows, the same bytes.
        XCTAssertEqual(digest["torch"] as? Bool, true, "the module did not find torch")
        let loader = try XCTUnwrap(digest["dataloader"] as? [String: Any])
        let ids = try XCTUnwrap(loader["ids"] as? [String]), shas = try XCTUnwrap(loader["sha256"] as? [String])
        XCTAssertEqual(ids.count, index.rowsBySplit[loader["split"] as? String ?? ""])
        XCTAssertEqual(ids.count, shas.count)
        for (id, sha) in zip(ids, shas) { XCTAssertEqual(swiftDigests[id], sha, "DataLoader row \(id)") }
    }
}
