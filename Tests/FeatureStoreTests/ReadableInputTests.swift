import Durability
import FeatureStore
import Foundation
import HDF5
import TestSupport
import XCTest

/// Issue #20: inputs that are not what they should be are refused in words, naming the file
/// once: named pipes (which blocked the reader forever), truncated shards (were "x.h5: x.h5:
/// HDF5 H5Fopen failed: unknown error"), JSON missing a field (were `DecodingError` dumps).
final class ReadableInputTests: XCTestCase {
    private var directory = ""

    override func setUpWithError() throws { directory = try Fixtures.scratchDirectory("readable-input") }
    override func tearDown() { try? FileManager.default.removeItem(atPath: directory) }

    private func refusal(_ path: String, _ body: @escaping @Sendable () throws -> Void) -> String {
        let (message, hung) = FIFOGuard.run(releasing: path) { () -> String in
            do { try body(); return "read" } catch { return "\(error)" }
        }
        XCTAssertFalse(hung, "waited on the named pipe \(path)")
        return message
    }

    func testNamedPipesAreRefusedUnopened() throws {
        let pipe = directory + "/shard.h5"
        try FIFOGuard.make(pipe)
        XCTAssertEqual(refusal(pipe) { _ = try FileDigest.xxh64(ofFileAt: pipe) }, "\(pipe): not a regular file (a named pipe)")
        XCTAssertEqual(refusal(pipe) { _ = try ShardFile(path: pipe) }, "\(pipe): not a regular file (a named pipe), not an HDF5 file")
        let set = directory + "/set"
        try FileManager.default.createDirectory(atPath: set, withIntermediateDirectories: true)
        let index = set + "/" + FeatureSetIndex.fileName
        try FIFOGuard.make(index)
        XCTAssertEqual(refusal(index) { _ = try FeatureSetIndex.read(directory: set) }, "\(index): not a regular file (a named pipe)")
    }

    func testTruncatedShardIsDescribedInWords() throws {
        let path = directory + "/test-00000.h5"
        do {
            let file = try HDF5File(path: path, mode: .create)
            try file.write([Float](repeating: 1, count: 8 * 64), shape: [8, 8, 8], to: "/fbank")
        }
        let whole = try Data(contentsOf: URL(fileURLWithPath: path))
        try whole.prefix(whole.count / 2).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try ShardFile(path: path)) { error in
            XCTAssertEqual("\(error)", "\(path): not a readable HDF5 file: truncated (it ends before the size its header records)")
        }
    }

    func testJSONProblemsNameTheField() throws {
        func problem(_ json: String) -> String {
            switch Result(catching: { try JSONDecoder().decode(SampleRun.self, from: Data(json.utf8)) }) {
            case .success: "decoded"
            case .failure(let error): PlainErrors.decoding(error)
            }
        }
        XCTAssertEqual(problem(#"{"history": []}"#), #"the field "method" is missing"#)
        XCTAssertEqual(problem(#"{"method": "ce", "history": [{"epoch": 1}, {"epoch": "two"}]}"#), #"the field "history[1].epoch" is not a number"#)
        XCTAssertEqual(problem(#"{"method": null, "history": []}"#), #"the field "method" is null, expected text"#)
        XCTAssertTrue(problem(#"{"method": "ce", "hist"#).hasPrefix("not valid JSON"), problem(#"{"method": "#))
        for json in [#"{}"#, #"{"method": 1}"#, "[", #"{"method": "ce", "history": {}}"#] {
            let text = problem(json)
            XCTAssertFalse(text.contains("CodingKeys") || text.contains("DecodingError") || text.contains("Swift."), text)
        }
        // Foundation's file errors: the system's reason, not the NSError dump.
        let file = directory + "/afile"
        try Data().write(to: URL(fileURLWithPath: file))
        do { try FileManager.default.createDirectory(atPath: file, withIntermediateDirectories: true); XCTFail("created") } catch {
            XCTAssertEqual(PlainErrors.file(error), "File exists")
        }
        do { try FileManager.default.createDirectory(atPath: file + "/sub", withIntermediateDirectories: true); XCTFail("created") } catch {
            XCTAssertEqual(PlainErrors.file(error), "Not a directory")   // NSCocoaErrorDomain 512 around POSIX ENOTDIR
        }
    }
}

private struct SampleRun: Decodable {
    struct Epoch: Decodable { var epoch: Int }
    var method: String
    var history: [Epoch]
}
