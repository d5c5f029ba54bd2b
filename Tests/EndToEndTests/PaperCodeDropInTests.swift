import Foundation
import TestSupport
import XCTest

/// Issue #23: `icbhi_shards.paper.ICBHIDataset` stands in for the paper code's own dataset, and
/// the paper's unmodified `main.py` trains from a feature set through `run_paper_code`.
///
/// Runs the vendored paper code (`../shared/third_party/patch-mix_contrastive_learning`) with
/// Debian's python3-torch 1.13 / torchaudio / torchvision and what Debian lacks (timm 0.4.5,
/// librosa, nlpaug, cmapy, ...) from `.build/pytools` (`make setup`). The checks themselves are
/// in `python/tests/paper_parity.py` (datasets) and here (the launcher).
final class PaperCodeDropInTests: PrepTestCase {
    private let python = "/usr/bin/python3"
    private var paperDirectory: String { Fixtures.shared.appendingPathComponent("third_party/patch-mix_contrastive_learning").path }
    private var pythonPath: String {
        let root = Fixtures.repositoryRoot
        return [root.appendingPathComponent("python").path, root.appendingPathComponent("python/tests").path,
                root.appendingPathComponent(".build/pytools").path].joined(separator: ":")
    }

    /// The paper code's imports resolve (else: which `make setup` step is missing).
    private func requirePaperStack() throws {
        let probe = try Fixtures.run(executableAt: python, ["-c", "import torch, torchaudio, torchvision, timm, librosa, nlpaug, cmapy, cv2, pandas, h5py"],
                                     environment: ["PYTHONPATH": pythonPath])
        guard probe.status == 0 else {
            throw FixtureError("the paper code's Python stack is incomplete (run `make setup`):\n\(probe)")
        }
    }

    /// A feature set of the real sample recordings, made by the release `prep`.
    private func sampleFeatureSet() throws -> String {
        try prep(["ingest", try linkedDataset(from: [Fixtures.sampleDirectory])])
        try prep(["features"])
        return try featureSetDirectory()
    }

    func testDropInMatchesThePaperDatasetOnTheSampleForEverySplit() throws {
        try requirePaperStack()
        let featureSet = try sampleFeatureSet()
        let script = Fixtures.repositoryRoot.appendingPathComponent("python/tests/paper_parity.py").path
        let run = try Fixtures.run(executableAt: python,
                                   [script, paperDirectory, Fixtures.shared.appendingPathComponent("icbhi").path,
                                    Fixtures.sampleDirectory, featureSet, workspace + "/parity"],
                                   environment: ["PYTHONPATH": pythonPath, "OMP_NUM_THREADS": "1"])
        XCTAssertEqual(run.status, 0, "\(run)")
        let summary = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(run.stdout.split(separator: "\n").last.map(String.init)?.utf8 ?? "".utf8))
                                    as? [String: Any], run.stdout)
        XCTAssertEqual((summary["failures"] as? [String])?.isEmpty, true, "\(summary["failures"] ?? "")")
        // 10 recordings, 97 cycles: every one appears once per split pair (train + test) of each of the 6 splits,
        // except the cycles of patients outside the fold file's folds (none in the sample).
        XCTAssertGreaterThanOrEqual(summary["items"] as? Int ?? 0, 6 * 97 - 97)
        XCTAssertLessThanOrEqual(summary["worst_max_abs"] as? Double ?? 1, 5e-3)
        XCTAssertLessThanOrEqual(summary["worst_mean_abs"] as? Double ?? 1, 1e-4)
        print("paper ICBHIDataset vs drop-in: \(run.stdout)")
    }

    /// The drop-in reads float16 (`--dtype float16`: widened through torch) and chunked
    /// (`--compress`: through h5py) feature sets as the contiguous float32 one it memory-maps:
    /// chunked items equal, float16 items equal to the float32 values rounded to float16, through
    /// forked DataLoader workers and a pickled (spawned) copy too.
    func testDropInReadsFloat16AndChunkedFeatureSetsAsTheMappedFloat32One() throws {
        try requirePaperStack()
        try prep(["ingest", try linkedDataset(from: [Fixtures.sampleDirectory])])
        try prep(["features"])
        try prep(["features", "--dtype", "float16"])
        try prep(["features", "--compress"])
        let script = """
        import argparse, glob, json, os, pickle, sys
        import numpy as np, torch
        from icbhi_shards.paper import ICBHIDataset
        kinds = {}
        for directory in glob.glob(os.path.join(sys.argv[1], "icbhi-*")):
            options = json.load(open(os.path.join(directory, "index.json")))["options"]
            kind = "float16" if options.get("dtype") == "float16" else "chunked" if int(options.get("deflate_level", 0)) > 0 else "float32"
            kinds[kind] = directory
        assert sorted(kinds) == ["chunked", "float16", "float32"], kinds
        args = argparse.Namespace(data_folder="", test_fold="3", sample_rate=16000, desired_length=8, pad_types="repeat", n_mels=128,
                                  n_cls=4, stetho_id=-1, raw_augment=0, blank_region_clip=False, class_split="lungsound",
                                  cls_list=["normal", "crackle", "wheeze", "both"], model="ast")
        def dataset(kind):
            args.feature_set = kinds[kind]
            return ICBHIDataset(False, None, args, print_flag=False)
        reference = dataset("float32")
        want = [reference[i][0] for i in range(len(reference))]
        assert type(reference._reader._open(0)).__name__ == "ndarray", "float32: not memory-mapped"
        for kind in ("chunked", "float16"):
            ds = dataset(kind)
            expect = want if kind == "chunked" else [w.astype(np.float16).astype(np.float32) for w in want]
            got = [ds[i][0] for i in range(len(ds))]
            assert all(g.dtype == np.float32 and np.array_equal(g, e) for g, e in zip(got, expect)), kind + ": items differ"
            batches = torch.utils.data.DataLoader(ds, batch_size=8, num_workers=2)
            stacked = torch.cat([b[0] for b in batches]).numpy()
            assert np.array_equal(stacked, np.stack(expect)), kind + ": DataLoader workers"
            copy = pickle.loads(pickle.dumps(ds))
            assert all(np.array_equal(copy[i][0], expect[i]) for i in range(len(ds))), kind + ": pickled copy"
        print(f"ok: {len(want)} items, float16 and chunked")
        """
        let run = try Fixtures.run(executableAt: python, ["-c", script, cache], environment: ["PYTHONPATH": pythonPath, "OMP_NUM_THREADS": "1"])
        XCTAssertEqual(run.status, 0, "\(run)")
        XCTAssertTrue(run.stdout.contains("ok: 61 items"), "\(run)")
    }

    func testPaperMainTrainsOneEpochFromTheFeatureSetThroughTheLauncher() throws {
        try requirePaperStack()
        let featureSet = try sampleFeatureSet()
        let save = workspace + "/save"
        // No recordings under --data_folder: the drop-in needs only the feature set.
        let empty = workspace + "/no-data"
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
        let run = try Fixtures.run(executableAt: python,
                                   ["-m", "icbhi_shards.run_paper_code", paperDirectory, "--feature-set", featureSet, "--cpu", "--",
                                    "--dataset", "icbhi", "--data_folder", empty, "--model", "cnn6", "--method", "ce",
                                    "--resz", "0.25", "--epochs", "1", "--batch_size", "2", "--num_workers", "2",
                                    "--learning_rate", "1e-3", "--print_freq", "1", "--save_dir", save, "--tag", "dropin"],
                                   in: workspace, environment: ["PYTHONPATH": pythonPath, "OMP_NUM_THREADS": "2"])
        let output = run.stdout + run.stderr
        XCTAssertTrue(output.contains("(paper flavour) with the feature set \(featureSet) on the CPU"), output)
        XCTAssertTrue(output.contains("File number in train dataset: 539"), output)   // the paper's own summary lines
        XCTAssertTrue(output.contains("Train epoch 1, total time"), output)
        XCTAssertTrue(output.contains(" * S_p: "), output)                             // evaluated on the test set
        // main.py ends by restoring its best model: after one epoch there is none when the score's
        // Se stayed <= 5 (the paper code then fails on `best_model[0]`); otherwise it saves best.pth.
        if run.status == 0 {
            XCTAssertTrue(FileManager.default.fileExists(atPath: save + "/icbhi_cnn6_ce_dropin/best.pth"), output)
            XCTAssertTrue(FileManager.default.fileExists(atPath: save + "/results.json"), output)
        } else {
            XCTAssertTrue(output.contains("model.load_state_dict(best_model[0])") && output.contains("'NoneType' object is not subscriptable"),
                          "main.py failed otherwise:\n\(output)")
        }
        print("paper main.py through run_paper_code --cpu (status \(run.status)):\n"
              + output.split(separator: "\n").filter { $0.contains("Train epoch") || $0.contains("S_p") || $0.contains("run_paper_code") }.joined(separator: "\n"))
    }
}
