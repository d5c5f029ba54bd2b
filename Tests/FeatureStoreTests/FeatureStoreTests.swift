import Durability
import Foundation
import ICBHI
import Manifests
import XCTest
@testable import FeatureStore

final class FeatureStoreTests: XCTestCase {
    private var directory: String!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("store-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: directory) }

    func testCSVRoundTripQuotesWhatNeedsIt() throws {
        let table = CSVTable(header: ["a", "b"], rows: [["1", "x,y"], ["say \"hi\"", "line\nbreak"], ["", "plain"]])
        let parsed = try CSVTable(parsing: table.encoded(), path: "t.csv")
        XCTAssertEqual(parsed, table)
        XCTAssertThrowsError(try CSVTable(parsing: "a,b\n1\n", path: "t.csv")) { error in
            XCTAssertEqual(String(describing: error), "t.csv:2: 1 fields, header has 2")
        }
        XCTAssertThrowsError(try CSVTable(parsing: "", path: "e.csv"))
    }

    func testManifestRowsRoundTrip() throws {
        let stem = try RecordingStem(parsing: "101_1b1_Al_sc_Meditron")
        let recording = RecordingRecord(stem: stem, sourceStem: "101_1b1_Al_sc_AKGC417L", sourceRate: 44100, bitDepth: 24,
                                        channels: 1, frames: 882000, frames16k: 320000, split: .test, fold: 1, cycles: 2,
                                        wavSHA256: "ab", txtSHA256: "cd", wavBytes: 10, wavModified: 1795613672.0191307)
        let demographics = Demographics(age: 3, sex: "F", adultBMI: nil, childWeight: 19, childHeight: 99)
        let cycle = CycleRecord(recording: stem, index: 1, start: 0.579, end: 2.45, crackle: true, wheeze: false,
                                split: .test, fold: 1, sliceBegin: 9264, sliceEnd: 39200, demographics: demographics,
                                diagnosis: "URTI")
        let store = ManifestStore(directory: directory + "/m")
        let encoded = ManifestStore.encode(recordings: [recording], cycles: [cycle])
        try store.write(recordings: encoded.recordings, cycles: encoded.cycles)
        XCTAssertEqual(try store.readRecordings(), [recording])
        XCTAssertEqual(try store.readCycles(), [cycle])
        XCTAssertEqual(cycle.id, "101_1b1_Al_sc_Meditron#1")
        XCTAssertEqual(cycle.fields[CycleRecord.header.firstIndex(of: "label")!], "1")
        XCTAssertEqual(cycle.fields[CycleRecord.header.firstIndex(of: "label2")!], "1")
    }

    func testAtomicWriteLeavesNoTempFileAndKeepsOldContentOnFailure() throws {
        let path = directory + "/file.txt"
        try AtomicFile.write(Data("one".utf8), to: path)
        try AtomicFile.write(Data("two".utf8), to: path)
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), "two")
        struct Boom: Error {}
        XCTAssertThrowsError(try AtomicFile.produce(path) { temporary in
            try Data("half".utf8).write(to: URL(fileURLWithPath: temporary))
            throw Boom()
        })
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), "two")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory), ["file.txt"])
        try Data().write(to: URL(fileURLWithPath: directory + "/.x.h5.partial-999"))
        // Left by a killed Foundation atomic write (the ingest kill test met one before writes went POSIX).
        _ = FileManager.default.createFile(atPath: directory + "/.dat.nosync7A91.7AYTLK", contents: Data())
        XCTAssertEqual(AtomicFile.sweepPartials(in: directory), 2)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory), ["file.txt"])
    }

    func testLockIsExclusiveAndReleased() throws {
        let path = directory + "/.lock"
        do {
            let held = try CacheLock(path: path, purpose: "first")
            XCTAssertThrowsError(try CacheLock(path: path, purpose: "second")) { error in
                XCTAssertTrue(String(describing: error).contains("in use by another run"), "\(error)")
            }
            withExtendedLifetime(held) {}
        }
        XCTAssertNoThrow(try CacheLock(path: path, purpose: "third"))
    }

    func testDigestOfKnownText() throws {
        XCTAssertEqual(FileDigest.sha256(of: "abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        try Data("abc".utf8).write(to: URL(fileURLWithPath: directory + "/abc"))
        XCTAssertEqual(try FileDigest.sha256(ofFileAt: directory + "/abc"), FileDigest.sha256(of: "abc"))
    }

    func testIndexRoundTrip() throws {
        let index = FeatureSetIndex(featureSet: "x", id: "00", frames: 798, bins: 128, createdAt: "now", toolVersion: "0",
                                    options: ["pad": "repeat"], normalisation: .init(kind: "audioset", mean: -4.2677393, std: 4.5689974, scale: 2),
                                    source: [:], rowsBySplit: ["train": 1],
                                    shards: [.init(file: "train-00000.h5", split: "train", rows: 1, bytes: 5,
                                                    checksum: .init(algorithm: .xxh64, value: "ab"))])
        try index.write(directory: directory)
        XCTAssertEqual(try FeatureSetIndex.read(directory: directory), index)
        let text = try String(contentsOfFile: directory + "/index.json", encoding: .utf8)
        XCTAssertTrue(text.contains("\"rows_by_split\""), text)
    }

    /// Options keep their JSON types; an older index's strings read through the same accessors.
    func testIndexOptionValuesKeepTheirTypesAndReadOldStrings() throws {
        let json = #"{"a": 128, "b": 0.97, "c": true, "d": "hanning", "e": "128", "f": "0.97", "g": "1", "h": "0", "i": 25.5}"#
        let options = try JSONDecoder().decode([String: FeatureSetIndex.OptionValue].self, from: Data(json.utf8))
        XCTAssertEqual(options["a"], .integer(128))
        XCTAssertEqual(options["b"], .number(0.97))
        XCTAssertEqual(options["c"], .boolean(true))
        XCTAssertEqual(options["d"], .string("hanning"))
        XCTAssertEqual(options["e"], .string("128"))
        // Typed accessors read typed values and the strings of older indexes alike.
        XCTAssertEqual(options["a"]?.integerValue, 128)
        XCTAssertEqual(options["e"]?.integerValue, 128)
        XCTAssertEqual(options["a"]?.doubleValue, 128)
        XCTAssertEqual(options["b"]?.doubleValue, 0.97)
        XCTAssertEqual(options["f"]?.doubleValue, 0.97)
        XCTAssertNil(options["b"]?.integerValue)
        XCTAssertNil(options["i"]?.integerValue)
        XCTAssertEqual(options["c"]?.boolValue, true)
        XCTAssertEqual(options["g"]?.boolValue, true)
        XCTAssertEqual(options["h"]?.boolValue, false)
        XCTAssertNil(options["a"]?.boolValue)
        XCTAssertNil(options["d"]?.doubleValue)
        XCTAssertNil(options["c"]?.doubleValue)
        XCTAssertEqual(options["d"]?.stringValue, "hanning")
        XCTAssertNil(options["a"]?.stringValue)
        XCTAssertEqual(options.mapValues(\.description),
                       ["a": "128", "b": "0.97", "c": "true", "d": "hanning", "e": "128", "f": "0.97", "g": "1", "h": "0", "i": "25.5"])

        // Written as JSON numbers, booleans and strings, and read back equal.
        let index = FeatureSetIndex(featureSet: "x", id: "00", frames: 798, bins: 128, createdAt: "now", toolVersion: "0",
                                    options: options, normalisation: .init(kind: "none", mean: 0, std: 0.5, scale: 2),
                                    source: [:], rowsBySplit: [:], shards: [])
        try index.write(directory: directory)
        XCTAssertEqual(try FeatureSetIndex.read(directory: directory), index)
        let data = try Data(contentsOf: URL(fileURLWithPath: directory + "/index.json"))
        let written = try XCTUnwrap((try JSONSerialization.jsonObject(with: data) as? [String: Any])?["options"] as? [String: Any])
        XCTAssertEqual((written["a"] as? NSNumber)?.intValue, 128)
        XCTAssertNil(written["a"] as? String)
        XCTAssertEqual(written["e"] as? String, "128")
        let text = try String(contentsOfFile: directory + "/index.json", encoding: .utf8)
        XCTAssertTrue(text.contains(#""c" : true"#) && text.contains(#""b" : 0.97"#), text)
    }

    /// The dtype of an index, typed or as older indexes wrote it; unknown names and non-strings are nil.
    func testFeatureSetDTypeFromTypedAndOldIndexes() throws {
        for (options, expected) in [([:], FeatureDType.float32), (["dtype": "float16"], .float16),
                                    (["dtype": "float64"], nil), (["dtype": 16], nil)] as [([String: FeatureSetIndex.OptionValue], FeatureDType?)] {
            try FeatureSetIndex(featureSet: "x", id: "00", frames: 1, bins: 1, createdAt: "now", toolVersion: "0",
                                options: options, normalisation: .init(kind: "none", mean: 0, std: 0.5, scale: 2),
                                source: [:], rowsBySplit: [:], shards: []).write(directory: directory)
            XCTAssertEqual(try FeatureSet(directory: directory).dtype, expected, "\(options)")
        }
    }
}
