import Durability
import FeatureStore
import Foundation
import TestSupport
import XCTest

/// Shard checksums end to end on two real sample recordings: `index.json` records each shard's
/// XXH64 as `xxhsum -H1` computes it, `prep verify` catches one flipped byte by it, and a feature
/// set written before XXH64 (SHA-256 entries) still verifies, and still catches the flip.
final class ShardChecksumTests: PrepTestCase {
    private let stems = ["104_1b1_Al_sc_Litt3200", "103_2b2_Ar_mc_LittC2SE"]

    /// Flips one byte in the middle of `path` (inside `fbank`'s values) and returns a function that restores it.
    private func flipByte(in path: String) throws -> () throws -> Void {
        let handle = try XCTUnwrap(FileHandle(forUpdatingAtPath: path))
        let size = try handle.seekToEnd()
        let offset = size / 2
        try handle.seek(toOffset: offset)
        let original = try XCTUnwrap(handle.read(upToCount: 1))
        try handle.seek(toOffset: offset)
        try handle.write(contentsOf: Data([original[0] ^ 0x10]))
        try handle.close()
        return {
            let handle = try XCTUnwrap(FileHandle(forUpdatingAtPath: path))
            try handle.seek(toOffset: offset)
            try handle.write(contentsOf: original)
            try handle.close()
        }
    }

    func testXXH64InTheIndexAndOldSHA256IndexesStillVerify() throws {
        let dataset = try copiedDataset(from: Fixtures.sampleDirectory, files: stems.flatMap { [$0 + ".wav", $0 + ".txt"] })
        try prep(["ingest", dataset])
        try prep(["features"])
        let directory = try featureSetDirectory()
        let index = try FeatureSetIndex.read(directory: directory)
        let text = try String(contentsOfFile: directory + "/index.json", encoding: .utf8)
        XCTAssertFalse(text.contains("\"sha256\""), "new indexes record XXH64 only: \(text)")
        let xxhsum = try Fixtures.tool("xxhsum")
        for shard in index.shards {
            let printed = Fixtures.system([xxhsum, "-H1", directory + "/" + shard.file]).output
            XCTAssertTrue(printed.contains((shard.xxh64 ?? "none") + "  "), "\(shard.file): index \(shard.checksum as Any), xxhsum \(printed)")
        }
        let shard = directory + "/" + index.shards[0].file
        var restore = try flipByte(in: shard)
        var caught = try prep(["verify", directory], expectStatus: 1)
        XCTAssertTrue(caught.stderr.contains("XXH64") && caught.stderr.contains(index.shards[0].file), caught.description)
        try restore()
        try prep(["verify", directory])

        // The same set as an older `prep` indexed it: SHA-256 entries.
        var legacy = index
        for position in legacy.shards.indices {
            legacy.shards[position].xxh64 = nil
            legacy.shards[position].sha256 = try FileDigest.sha256(ofFileAt: directory + "/" + legacy.shards[position].file)
        }
        try legacy.write(directory: directory)
        try prep(["verify", directory])
        restore = try flipByte(in: shard)
        caught = try prep(["verify", directory], expectStatus: 1)
        XCTAssertTrue(caught.stderr.contains("SHA-256") && caught.stderr.contains(index.shards[0].file), caught.description)
        try restore()
        try prep(["verify", directory])
    }
}
