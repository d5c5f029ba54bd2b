import Durability
import Foundation
import TestSupport
import XCTest
@testable import FeatureStore

/// XXH64, the shards' checksum: the reference values, streaming in any pieces, agreement with
/// `xxhsum -H1` (Debian `xxhash`), and the index's two checksum kinds.
final class ChecksumTests: XCTestCase {
    private var directory: String!

    override func setUpWithError() throws {
        directory = try Fixtures.scratchDirectory("checksum")
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: directory) }

    /// Deterministic pseudo-random bytes.
    private func bytes(_ count: Int, seed: UInt64) -> [UInt8] {
        var state = seed &+ 0x9E37_79B9_7F4A_7C15
        return (0..<count).map { _ in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return UInt8(truncatingIfNeeded: state >> 56)
        }
    }

    private func xxh64(_ bytes: [UInt8]) -> String {
        var hasher = XXH64()
        hasher.update(bytes)
        return hasher.hexDigest()
    }

    func testReferenceValues() {
        // xxHash's own test values (seed 0), as `printf ... | xxhsum -H1` prints them.
        XCTAssertEqual(xxh64([]), "ef46db3751d8e999")
        XCTAssertEqual(xxh64(Array("abc".utf8)), "44bc2cf5ad770999")
        XCTAssertEqual(xxh64(Array("Nobody inspects the spammish repetition".utf8)), "fbcea83c8a378bf1")
    }

    func testPiecesDoNotMatter() {
        // Every tail length (0-31 bytes after the stripes, 8/4/1-byte steps), fed whole and in
        // uneven pieces that straddle stripes.
        for count in [0, 1, 3, 4, 7, 8, 12, 31, 32, 33, 63, 64, 65, 100, 1000, 4099] {
            let data = bytes(count, seed: UInt64(count))
            let whole = xxh64(data)
            for piece in [1, 5, 31, 33, 1000] {
                var hasher = XXH64()
                var start = 0
                while start < count {
                    let end = min(count, start + piece)
                    data[start..<end].withUnsafeBytes { hasher.update($0) }
                    start = end
                }
                XCTAssertEqual(hasher.hexDigest(), whole, "\(count) bytes in pieces of \(piece)")
            }
        }
    }

    func testFilesAgreeWithXxhsum() throws {
        let xxhsum = try Fixtures.tool("xxhsum")
        for count in [0, 1, 31, 32, 33, 1_048_576 + 13, 3 * 1_048_576] {
            let path = directory + "/f\(count)"
            try Data(bytes(count, seed: 7 &* UInt64(count))).write(to: URL(fileURLWithPath: path))
            let reference = Fixtures.system([xxhsum, "-H1", path])
            XCTAssertEqual(reference.status, 0, reference.output)
            // stdout and stderr come merged (xxhsum may draw progress on stderr): take the
            // 16-hex-digit word of its `<digest>  <path>` line.
            let words = reference.output.split(whereSeparator: { (c: Character) in c.isWhitespace })
            let printed = words.first { $0.count == 16 && $0.allSatisfy(\.isHexDigit) }.map(String.init)
            XCTAssertEqual(try FileDigest.xxh64(ofFileAt: path), printed, "\(count) bytes: xxhsum said \(reference.output)")
            // SHA-256 anchored to coreutils' `sha256sum`, not to this module's other SHA-256 path.
            let sha256sum = Fixtures.system([try Fixtures.tool("sha256sum"), path])
            XCTAssertEqual(sha256sum.status, 0, sha256sum.output)
            let expected = String(sha256sum.output.prefix(64))
            XCTAssertEqual(try FileDigest.hexDigest(ofFileAt: path, algorithm: .sha256), expected, "\(count) bytes: sha256sum said \(sha256sum.output)")
            XCTAssertEqual(FileDigest.sha256(of: Data(bytes(count, seed: 7 &* UInt64(count)))), expected, "\(count) bytes")
        }
    }

    func testIndexRecordsXXH64AndStillReadsSHA256() throws {
        func index(shards: String) -> String {
            """
            {"format": "icbhi-feature-shards/1", "feature_set": "x", "id": "00", "frames": 798, "bins": 128,
             "created_at": "now", "tool_version": "0", "options": {}, "source": {}, "rows_by_split": {"train": 1},
             "normalisation": {"kind": "none", "mean": 0, "std": 0.5, "scale": 2}, "shards": [\(shards)]}
            """
        }
        let entry = #"{"file": "train-00000.h5", "split": "train", "rows": 1, "bytes": 5"#
        // Written before XXH64: SHA-256 only.
        try index(shards: entry + #", "sha256": "ab"}"#).write(toFile: directory + "/index.json", atomically: false, encoding: .utf8)
        XCTAssertEqual(try FeatureSetIndex.read(directory: directory).shards[0].checksum, .init(algorithm: .sha256, value: "ab"))
        // No checksum at all: refused, naming the shard.
        try index(shards: entry + "}").write(toFile: directory + "/index.json", atomically: false, encoding: .utf8)
        XCTAssertThrowsError(try FeatureSetIndex.read(directory: directory)) { error in
            XCTAssertTrue("\(error)".contains("train-00000.h5 has no checksum"), "\(error)")
        }
        // Written now: the xxh64 key only.
        let written = FeatureSetIndex(
            featureSet: "x", id: "00", frames: 798, bins: 128, createdAt: "now", toolVersion: "0", options: [:],
            normalisation: .init(kind: "none", mean: 0, std: 0.5, scale: 2), source: [:], rowsBySplit: ["train": 1],
            shards: [.init(file: "train-00000.h5", split: "train", rows: 1, bytes: 5, checksum: .init(algorithm: .xxh64, value: "cd"))])
        try written.write(directory: directory)
        let text = try String(contentsOfFile: directory + "/index.json", encoding: .utf8)
        XCTAssertTrue(text.contains(#""xxh64" : "cd""#), text)
        XCTAssertFalse(text.contains("sha256"), text)
        XCTAssertEqual(try FeatureSetIndex.read(directory: directory).shards[0].checksum, .init(algorithm: .xxh64, value: "cd"))
    }
}
