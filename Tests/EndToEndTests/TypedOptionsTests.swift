import AudioDSP
import FeatureStore
import Foundation
import HDF5
import Manifests
@testable import PrepKit
import TestSupport
import XCTest

/// index.json holds the feature set's options as typed JSON values, while the feature set id
/// and the shards' string attributes stay as they were; an index written by an older `prep`
/// (every option a string) still reads in Swift (`FeatureSet`, `prep verify`, `prep show`) and
/// in Python.
final class TypedOptionsTests: PrepTestCase {
    private func indexObject(_ directory: String) throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: directory + "/" + FeatureSetIndex.fileName))
        return try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    /// `FeatureSet(...).options` of `python/icbhi_shards.py`, with each value's Python type.
    private func pythonOptions(_ directory: String) throws -> [String: [String]] {
        let script = """
        import json, sys
        import icbhi_shards as ic
        fs = ic.FeatureSet(sys.argv[1])
        print(json.dumps({k: [type(v).__name__, str(v)] for k, v in fs.options.items()} | {"@dtype": ["str", fs.dtype]}))
        """
        let run = try Fixtures.run(executableAt: Fixtures.python3(importing: ["h5py", "numpy"]), ["-c", script, directory],
                                   environment: ["PYTHONPATH": Fixtures.repositoryRoot.appendingPathComponent("python").path])
        XCTAssertEqual(run.status, 0, run.description)
        return try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: [String]], run.stdout)
    }

    func testIndexOptionsAreTypedAndOldStringIndexesStillRead() throws {
        try prep(["ingest", try linkedDataset(from: [Fixtures.sampleDirectory])])
        try prep(["features"])
        let directory = try featureSetDirectory()

        // Typed JSON values, read back with JSONSerialization.
        let options = try XCTUnwrap(try indexObject(directory)["options"] as? [String: Any])
        for key in ["length_samples", "fbank_numMelBins", "fbank_lowFreq", "fbank_preemphasisCoefficient", "shard_size"] {
            XCTAssertNil(options[key] as? String, "\(key) is a JSON number")
            XCTAssertNotNil(options[key] as? NSNumber, key)
        }
        XCTAssertEqual((options["length_samples"] as? NSNumber)?.intValue, 128_000)
        XCTAssertEqual((options["fbank_numMelBins"] as? NSNumber)?.intValue, 128)
        XCTAssertEqual((options["fbank_lowFreq"] as? NSNumber)?.doubleValue, 20)
        XCTAssertEqual((options["fbank_preemphasisCoefficient"] as? NSNumber)?.doubleValue, 0.97)
        XCTAssertEqual(options["pad"] as? String, "repeat")
        XCTAssertEqual(options["dtype"] as? String, "float32")
        let text = try String(contentsOfFile: directory + "/index.json", encoding: .utf8)
        XCTAssertTrue(text.contains("\"fbank_htkCompat\" : true"), text)
        XCTAssertTrue(text.contains("\"fbank_useEnergy\" : false"), text)
        XCTAssertTrue(text.contains("\"length_samples\" : 128000"), text)

        // The same keys as the strings the id hashes and the shards store; the id is the one
        // `prep` has always given the sample (and its recipe's, below); the shards' attributes are still strings.
        let typed = try FeatureSet(directory: directory)
        XCTAssertEqual(Set(typed.index.options.keys), Set(FeatureOptions().describedOptions.keys))
        XCTAssertEqual(typed.index.options["fbank_htkCompat"], .boolean(true))
        XCTAssertEqual(typed.index.options["fbank_numMelBins"], .integer(128))
        XCTAssertEqual(typed.index.options["fbank_preemphasisCoefficient"], .number(0.97))
        XCTAssertEqual(typed.id, "32668d1620cd2a07", "the feature set id must not change")
        let cycle = "101_1b1_Al_sc_Meditron#0"
        let stored = try XCTUnwrap(try typed.shards.first { try typed.open($0).cycleIDs().contains(cycle) })
        let shardPath = typed.path(of: stored)
        let shard = try typed.open(stored)
        for (key, value) in FeatureOptions().describedOptions {
            XCTAssertEqual(shard.attribute(key)?.stringValue, value, "shard attribute \(key)")
        }
        // The id from its documented recipe (docs/formats.md, index.json), computed here from what the files
        // hold and hashed by `sha256sum`, not by prep's code: the first 16 hex digits of the SHA-256
        // of the lines `key=value` (every option, as the shards' root attributes hold it, sorted by
        // key), then `format=`, `resampler=`, `cycles_sha256=` (index.json, ingest.json), joined by
        // newlines. The pinned value above says the id never changes; this says what it is.
        let ingest = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: cache + "/ingest.json"))) as? [String: Any])
        var recipe = try typed.index.options.keys.sorted().map { key in "\(key)=\(try XCTUnwrap(shard.attribute(key)?.stringValue, key))" }
        recipe += ["format=\(try XCTUnwrap(indexObject(directory)["format"] as? String))",
                   "resampler=\(try XCTUnwrap(ingest["resampler"] as? String))",
                   "cycles_sha256=\(try XCTUnwrap(ingest["cyclesSHA256"] as? String))"]
        let recipeFile = workspace + "/id-recipe.txt"
        try recipe.joined(separator: "\n").write(toFile: recipeFile, atomically: true, encoding: .utf8)
        let sha256sum = try Fixtures.run(executableAt: Fixtures.tool("sha256sum"), [recipeFile])
        XCTAssertEqual(sha256sum.status, 0, sha256sum.description)
        XCTAssertEqual(typed.id, String(sha256sum.stdout.prefix(16)), "the id is not its recipe's; recipe:\n\(recipe.joined(separator: "\n"))")
        XCTAssertEqual(FbankOptions(featureSetOptions: typed.index.options), .paper)
        let python = try pythonOptions(directory)
        XCTAssertEqual(python["length_samples"], ["int", "128000"])
        XCTAssertEqual(python["fbank_htkCompat"], ["bool", "True"])
        XCTAssertEqual(python["fbank_preemphasisCoefficient"], ["float", "0.97"])
        XCTAssertEqual(python["@dtype"], ["str", "float32"])

        let typedPNG = workspace + "/typed.png"
        try prep(["show", cycle, "--png", typedPNG])

        // An index as older `prep` wrote it: every option the string the id hashes.
        var object = try indexObject(directory)
        object["options"] = FeatureOptions().describedOptions
        try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
            .write(to: URL(fileURLWithPath: directory + "/index.json"))
        let legacy = try FeatureSet(directory: directory)
        XCTAssertEqual(legacy.index.options["length_samples"], .string("128000"))
        XCTAssertEqual(legacy.index.options["length_samples"]?.integerValue, 128_000)
        XCTAssertEqual(legacy.index.options["fbank_lowFreq"]?.doubleValue, 20)
        XCTAssertEqual(legacy.index.options["fbank_htkCompat"]?.boolValue, true)
        XCTAssertEqual(legacy.dtype, .float32)
        XCTAssertEqual(legacy.id, typed.id)
        XCTAssertEqual(FbankOptions(featureSetOptions: legacy.index.options), .paper)
        XCTAssertEqual(try legacy.rows(split: "test").count, try typed.rows(split: "test").count)
        try prep(["verify", URL(fileURLWithPath: directory).lastPathComponent])
        let legacyPNG = workspace + "/legacy.png"
        try prep(["show", cycle, "--png", legacyPNG])
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: legacyPNG)), try Data(contentsOf: URL(fileURLWithPath: typedPNG)))
        let legacyPython = try pythonOptions(directory)
        XCTAssertEqual(legacyPython["length_samples"], ["str", "128000"])
        XCTAssertEqual(legacyPython["@dtype"], ["str", "float32"])

        // A shard on its own: the options come from its attributes; same picture.
        let alone = workspace + "/alone"
        try FileManager.default.createDirectory(atPath: alone, withIntermediateDirectories: true)
        let row = try XCTUnwrap(try shard.cycleIDs().firstIndex(of: cycle))
        let copy = alone + "/" + URL(fileURLWithPath: shardPath).lastPathComponent
        try FileManager.default.copyItem(atPath: shardPath, toPath: copy)
        let alonePNG = workspace + "/alone.png"
        try prep(["show", "--shard", copy, "--row", String(row), "--png", alonePNG])
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: alonePNG)), try Data(contentsOf: URL(fileURLWithPath: typedPNG)))
    }

    /// `prep show` labels every stored column: the mel filters' centres from AudioDSP, an energy
    /// column (last with `htkCompat`, else first) with its neighbour's.
    /// SPRSound's record items come from recordings.csv, so its digest is part of the feature-set
    /// id: a re-ingest that changes only a record label is another set. ICBHI (no recordings
    /// digest) keeps its id (pinned in CorpusSeamTests).
    func testIdentityCoversRecordingsCSVWhereIngestRecordsIt() {
        var state = IngestState(resampler: "reference", audioDirectory: "audio", manifestDirectory: "manifests", cyclesSHA256: "events")
        let withoutRecordings = FeatureOptions().identity(ingest: state)
        state.recordingsSHA256 = "recordings-1"
        let first = FeatureOptions().identity(ingest: state)
        state.recordingsSHA256 = "recordings-2"
        let second = FeatureOptions().identity(ingest: state)
        XCTAssertNotEqual(first, second)
        XCTAssertNotEqual(first, withoutRecordings)
        XCTAssertEqual(first, FeatureOptions().identity(ingest: { var s = state; s.recordingsSHA256 = "recordings-1"; return s }()))
    }

    func testShowBinCentresComeFromTheFilterbank() {
        var fbank = FbankOptions.paper
        let centres = fbank.melFilterCentresHz
        XCTAssertEqual(StoredRow.binCentres(of: fbank, bins: 128), centres)
        fbank.useEnergy = true
        XCTAssertEqual(StoredRow.binCentres(of: fbank, bins: 129), centres + [centres[127]])
        fbank.htkCompat = false
        XCTAssertEqual(StoredRow.binCentres(of: fbank, bins: 129), [centres[0]] + centres)
        XCTAssertEqual(StoredRow.binCentres(of: .paper, bins: 64), StoredRow.defaultFbank(bins: 64).melFilterCentresHz)
    }
}
