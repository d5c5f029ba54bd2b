import Durability
import FeatureStore
import Foundation
import HDF5
import TestSupport
import XCTest

/// `prep features --dtype float16` end to end on four real sample recordings (31 cycles): its
/// own feature set, half the bytes, every value the float32 value rounded to nearest binary16,
/// readable by `prep verify`, `prep show`, h5dump, h5py and `icbhi_shards.py`, and `train` runs
/// an epoch on it.
final class Float16ShardTests: PrepTestCase {
    private let stems = ["104_1b1_Al_sc_Litt3200", "104_1b1_Ar_sc_Litt3200", "104_1b1_Lr_sc_Litt3200", "103_2b2_Ar_mc_LittC2SE"]

    private func featureSets() throws -> [String: String] {
        let names = try FileManager.default.contentsOfDirectory(atPath: cache).filter { $0.hasPrefix("icbhi-") }
        return Dictionary(uniqueKeysWithValues: names.map { ($0.contains("float16") ? "float16" : "float32", cache + "/" + $0) })
    }

    func testFloat16ShardsAreHalfTheSizeWithinRoundingAndReadableEverywhere() throws {
        let dataset = try copiedDataset(from: Fixtures.sampleDirectory, files: stems.flatMap { [$0 + ".wav", $0 + ".txt"] })
        try prep(["ingest", dataset, "--resampler", "reference"])
        try prep(["features", "--shard-size", "8"])
        try prep(["features", "--shard-size", "8", "--dtype", "float16"])
        let sets = try featureSets()
        let single = try XCTUnwrap(sets["float32"]), half = try XCTUnwrap(sets["float16"])
        let singleIndex = try FeatureSetIndex.read(directory: single), halfIndex = try FeatureSetIndex.read(directory: half)
        XCTAssertNotEqual(singleIndex.id, halfIndex.id, "the dtype is part of the feature set id")
        XCTAssertEqual(halfIndex.options["dtype"], "float16")
        XCTAssertEqual(singleIndex.options["dtype"], "float32")

        // Size: at most 55% of float32.
        let singleBytes = singleIndex.shards.reduce(0) { $0 + $1.bytes }, halfBytes = halfIndex.shards.reduce(0) { $0 + $1.bytes }
        XCTAssertLessThanOrEqual(Double(halfBytes), 0.55 * Double(singleBytes))

        // Values: each stored half is Float16(float32 value), so within half an ulp of it.
        var worst: Float = 0, worstRatio: Float = 0, rows = 0
        for (a, b) in zip(singleIndex.shards, halfIndex.shards) {
            XCTAssertEqual(a.file, b.file)
            let fileA = try HDF5File(path: single + "/" + a.file, mode: .readOnly)
            let fileB = try HDF5File(path: half + "/" + b.file, mode: .readOnly)
            let fbankA = try fileA.dataset("/fbank"), fbankB = try fileB.dataset("/fbank")
            XCTAssertEqual(FeatureDType(of: fbankA), .float32)
            XCTAssertEqual(FeatureDType(of: fbankB), .float16)
            XCTAssertEqual(fbankA.shape, fbankB.shape)
            XCTAssertEqual(try fileA.readStrings("/cycle_id"), try fileB.readStrings("/cycle_id"))
            XCTAssertEqual(try fileA.read("/label", as: Int8.self).0, try fileB.read("/label", as: Int8.self).0)
            let exact = try fbankA.readAll(as: Float.self), stored = try fbankB.readAll(as: Float16.self)
            var widened = [Float](repeating: .nan, count: exact.count)
            try widened.withUnsafeMutableBufferPointer { try FeatureShard.readRows(of: fbankB, at: 0, count: b.rows, into: $0) }
            for i in exact.indices {
                XCTAssertEqual(stored[i].bitPattern, Float16(exact[i]).bitPattern, "\(b.file) value \(i)")
                let error = Difference.absolute(widened[i], exact[i])
                worst = max(worst, error)
                worstRatio = max(worstRatio, error / HalfPrecision.roundingBound(forMagnitude: exact[i]))
                if stored[i].bitPattern != Float16(exact[i]).bitPattern { break }
            }
            rows += b.rows
        }
        XCTAssertEqual(rows, 31)
        XCTAssertLessThanOrEqual(worstRatio, 1)
        XCTAssertLessThan(worst, 1e-3)

        // prep verify and prep show read float16 shards.
        let verify = try prep(["verify"])
        XCTAssertEqual(verify.stdout.components(separatedBy: "ok: ").count - 1, 3, verify.stdout)   // two sets + ingest
        try prep(["show", "--shard", half + "/" + halfIndex.shards[0].file, "--row", "0", "--png", workspace + "/row0.png"])
        XCTAssertTrue(FileManager.default.fileExists(atPath: workspace + "/row0.png"))

        // h5dump names an IEEE half; h5py and icbhi_shards.py read it (numpy float16, items float32).
        let dump = try Fixtures.run(executableAt: Fixtures.tool("h5dump"), ["-H", "-d", "/fbank", half + "/" + halfIndex.shards[0].file])
        XCTAssertTrue(dump.stdout.contains("16-bit little-endian floating-point"), dump.stdout)
        let script = """
        import sys, numpy as np, h5py
        from icbhi_shards import FeatureSet, ShardDataset
        half, single = FeatureSet(sys.argv[1]), FeatureSet(sys.argv[2])
        with h5py.File(half.shards[0].path, "r") as f:
            assert f["fbank"].dtype == np.float16, f["fbank"].dtype
        a, b = ShardDataset(half, split=None, as_tensor=False), ShardDataset(single, split=None, as_tensor=False)
        assert half.dtype == "float16" and single.dtype == "float32", (half.dtype, single.dtype)
        worst = 0.0
        for i in range(len(a)):
            x, y = a[i][0], b[i][0]
            assert x.dtype == np.float32 and x.shape == y.shape
            assert np.array_equal(x, y.astype(np.float16).astype(np.float32)), i
            worst = max(worst, float(np.abs(x - y).max()))
        assert not half.verify(), half.verify()
        print(len(a), worst)
        """
        let python = try Fixtures.run(executableAt: Fixtures.python3(importing: ["h5py", "numpy"]), ["-c", script, half, single],
                                      environment: ["PYTHONPATH": Fixtures.repositoryRoot.appendingPathComponent("python").path])
        XCTAssertEqual(python.status, 0, python.description)
        XCTAssertTrue(python.stdout.hasPrefix("31 "), python.stdout)

        // A float16 shard swapped into the float32 set, its index entry re-hashed: verify names the dtype.
        var forged = singleIndex
        let swapped = singleIndex.shards[0].file
        try FileManager.default.removeItem(atPath: single + "/" + swapped)
        try FileManager.default.copyItem(atPath: half + "/" + swapped, toPath: single + "/" + swapped)
        forged.shards[0].bytes = try XCTUnwrap(FileManager.default.attributesOfItem(atPath: single + "/" + swapped)[.size] as? Int)
        forged.shards[0].xxh64 = try FileDigest.xxh64(ofFileAt: single + "/" + swapped)
        try forged.write(directory: single)
        let caught = try prep(["verify", single], expectStatus: 1)
        XCTAssertTrue(caught.stderr.contains("fbank is float16, index says float32"), caught.description)

        // A 1-epoch ast-tiny run on the float16 shards (6 train cycles: batch 2 takes 3 steps; batch 8
        // trained none, which train now refuses).
        let train = try Fixtures.run("train", ["--shards", half, "--model", "ast-tiny", "--epochs", "1", "--batch-size", "2",
                                               "--threads", "1", "--device", "cpu", "--output", workspace + "/run"], in: workspace)
        XCTAssertEqual(train.status, 0, train.description)
        XCTAssertTrue(FileManager.default.fileExists(atPath: workspace + "/run/last.pth"), train.description)
        print("float16: \(halfBytes) vs \(singleBytes) bytes (\(String(format: "%.1f", 100 * Double(halfBytes) / Double(singleBytes)))%), max abs error \(worst) (<= half an ulp: ratio \(worstRatio)); verify, show, h5dump, h5py, icbhi_shards.py and 1 training epoch ok")
    }

    /// float16 shards hold the same values for any --jobs and compressed or not.
    func testFloat16ValuesDoNotDependOnJobsOrCompression() throws {
        let dataset = try copiedDataset(from: Fixtures.sampleDirectory, files: stems.prefix(2).flatMap { [$0 + ".wav", $0 + ".txt"] })
        try prep(["ingest", dataset, "--resampler", "reference"])
        try prep(["features", "--dtype", "float16", "--shard-size", "5", "--jobs", "1", "--name", "plain"])
        try prep(["features", "--dtype", "float16", "--shard-size", "5", "--jobs", "2", "--name", "jobs2"])
        try prep(["features", "--dtype", "float16", "--shard-size", "5", "--compress", "--name", "packed"])
        let plain = try FeatureSetIndex.read(directory: cache + "/plain")
        XCTAssertGreaterThan(plain.shards.count, 1)
        for other in ["jobs2", "packed"] {
            let index = try FeatureSetIndex.read(directory: cache + "/" + other)
            XCTAssertEqual(index.shards.map(\.file), plain.shards.map(\.file))
            for (a, b) in zip(plain.shards, index.shards) {
                let x = try HDF5File(path: cache + "/plain/" + a.file, mode: .readOnly).read("/fbank", as: Float16.self).0
                let y = try HDF5File(path: cache + "/\(other)/" + b.file, mode: .readOnly).read("/fbank", as: Float16.self).0
                XCTAssertEqual(x.map(\.bitPattern), y.map(\.bitPattern), "\(other)/\(b.file)")
            }
        }
        let verify = try prep(["verify"])   // exit status 0 asserted by prep()
        XCTAssertEqual(verify.stdout.components(separatedBy: "ok: ").count - 1, 4, verify.stdout)
    }
}
