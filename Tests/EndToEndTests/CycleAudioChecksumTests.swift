import FeatureStore
import Foundation
import HDF5
import TestSupport
import XCTest

/// Cycle audio carries the SHA-256 of its samples (written at ingest): `prep verify` finds one
/// flipped float, which leaves every other check (provenance, offsets, cycle counts) satisfied.
/// Caches from before the checksum get a notice, not a failure, and still make features.
final class CycleAudioChecksumTests: HardeningTestCase {
    private func audioFile(_ stem: String) throws -> String {
        let resamplers = try FileManager.default.contentsOfDirectory(atPath: cache + "/audio16k")
        return try cache + "/audio16k/" + XCTUnwrap(resamplers.first) + "/" + stem + ".h5"
    }

    func testVerifyFindsOneFlippedFloatInCycleAudio() throws {
        try prep(["ingest", try smallDataset(), "--jobs", "2"])
        try prep(["features"] + Self.featureOptions)
        let clean = try prep(["verify"])
        XCTAssertFalse(clean.stdout.contains("predate"), clean.stdout)
        let audio = try audioFile(Self.stems[1])
        let saved = try Data(contentsOf: URL(fileURLWithPath: audio))

        // One bit of one float, in place (same size, same provenance attributes).
        do {
            let file = try HDF5File(path: audio, mode: .readWrite)
            let samples = try file.dataset("/samples")
            var values = try samples.readAll(as: Float.self)
            values[values.count / 2] = Float(bitPattern: values[values.count / 2].bitPattern ^ 1)
            try samples.writeAll(values)
            try file.flush()
        }
        let result = try prep(["verify"], expectStatus: 1)
        XCTAssertTrue(result.stderr.contains(Self.stems[1] + ".h5: samples SHA-256"), result.stderr)
        XCTAssertFalse(result.stderr.contains(Self.stems[0]), result.stderr)

        try saved.write(to: URL(fileURLWithPath: audio))
        try prep(["verify"])
    }

    func testCacheWithoutChecksumsIsNoticedNotFailed() throws {
        let dataset = try smallDataset()
        try prep(["ingest", dataset, "--jobs", "2"])
        // Rewrite one file as ingest wrote it before checksums: every dataset and attribute but the checksum.
        let audio = try audioFile(Self.stems[0])
        do {
            let old = try HDF5File(path: audio, mode: .readOnly)
            let samples = try old.read("/samples", as: Float.self).0
            let offsets = try old.read("/offsets", as: Int64.self).0
            let indices = try old.read("/cycle_index", as: Int32.self).0
            XCTAssertNotNil(try old.attribute(CycleAudioStore.checksumAttribute))
            let names = ["description", "stem", "sample_rate", "source_sample_rate", "resampler", "wav_sha256", "txt_sha256",
                         "cycles", "format_version"]
            let attributes = try names.map { ($0, try XCTUnwrap(try old.attribute($0), $0)) }
            let rewritten = audio + ".old"
            let file = try HDF5File(path: rewritten, mode: .create)
            try file.write(samples, shape: [samples.count], to: "/samples")
            try file.write(offsets, shape: [offsets.count], to: "/offsets")
            try file.write(indices, shape: [indices.count], to: "/cycle_index")
            for (name, value) in attributes { try file.setAttribute(name, value) }
            try file.flush()
            XCTAssertEqual(rename(rewritten, audio), 0)
        }
        try prep(["features"] + Self.featureOptions)
        let result = try prep(["verify"])
        XCTAssertTrue(result.stdout.contains("notice: 1 cycle-audio file in"), result.stdout)
        XCTAssertTrue(result.stdout.contains("predates sample checksums"), result.stdout)
        // A rerun of ingest redoes that recording (same samples) and records its checksum.
        let samplesBefore = try HDF5File(path: audio, mode: .readOnly).read("/samples", as: Float.self).0
        try prep(["ingest", dataset, "--jobs", "2"])
        XCTAssertNotNil(try HDF5File(path: audio, mode: .readOnly).attribute(CycleAudioStore.checksumAttribute))
        XCTAssertEqual(try HDF5File(path: audio, mode: .readOnly).read("/samples", as: Float.self).0, samplesBefore)
        let again = try prep(["verify"])
        XCTAssertFalse(again.stdout.contains("predate"), again.stdout)
    }
}
