import Durability
import Foundation
import HDF5
import XCTest
@testable import FeatureStore

/// `FeatureShard.stage`: the SHA-256 taken while the values are written is the file's, the
/// values land where HDF5 reads them, and compressed shards leave the hash to the publisher.
final class FeatureShardTests: XCTestCase {
    private var directory: String!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("shard-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: directory) }

    private func cycles(_ count: Int) throws -> [ShardRow] {
        (0..<count).map { (k: Int) -> ShardRow in
            let crackle = k % 2 == 1
            return ShardRow(id: "101_1b1_Al_sc_Meditron#\(k)", recording: "101_1b1_Al_sc_Meditron", patient: 101,
                            label: crackle ? 1 : 0, binaryLabel: crackle ? 1 : 0, crackle: crackle, wheeze: false,
                            split: "train", fold: 2, device: "Meditron", location: "Al", start: Double(k), end: Double(k) + 1)
        }
    }

    /// Writes `rows` rows of `frames x bins` values in groups of 3 and returns what was staged.
    private func stage(_ name: String, rows: Int, frames: Int, bins: Int, dtype: FeatureDType,
                       deflateLevel: Int = 0) throws -> (FeatureShard.Staged, [Float]) {
        let records = try cycles(rows)
        let values = (0..<(rows * frames * bins)).map { Float(sin(Double($0) * 0.01)) * 1.5 }
        let staged = try FeatureShard.stage(path: directory + "/" + name, rows: .init(cycles: records), frames: frames, bins: bins,
                                            dtype: dtype, deflateLevel: deflateLevel, attributes: [("note", .string("test"))]) { writer in
            for first in stride(from: 0, to: rows, by: 3) {
                let count = min(3, rows - first)
                let rowsData = EncodedRows(count: count, rowLength: frames * bins, as: dtype) { buffer in
                    let start = first * frames * bins
                    for i in 0..<buffer.count { buffer[i] = values[start + i] }
                }
                try writer.write(rowsData, at: first)
            }
        }
        return (staged, values)
    }

    func testStreamedDigestIsTheFilesAndValuesReadBack() throws {
        // 798 x 128 (paper): O_DIRECT-sized rows; 7 x 5: rows of 140/70 bytes, plain writes.
        for (frames, bins) in [(798, 128), (7, 5)] {
            for dtype in FeatureDType.allCases {
                let (staged, values) = try stage("s-\(frames)-\(dtype).h5", rows: 8, frames: frames, bins: bins, dtype: dtype)
                let digest = try XCTUnwrap(staged.checksum, "no digest taken while writing (\(frames)x\(bins) \(dtype))")
                XCTAssertEqual(FeatureShard.checksumAlgorithm, .xxh64)
                XCTAssertEqual(digest, try FileDigest.xxh64(ofFileAt: staged.temporary), "\(frames)x\(bins) \(dtype)")
                let file = try HDF5File(path: staged.temporary, mode: .readOnly)
                let fbank = try file.dataset("/fbank")
                XCTAssertEqual(FeatureDType(of: fbank), dtype)
                if frames * bins * dtype.byteCount * 8 >= 4096 {   // HDF5 aligns objects of 4 KiB or more
                    XCTAssertEqual(try XCTUnwrap(fbank.fileOffset) % 4096, 0)
                }
                var read = [Float](repeating: .nan, count: values.count)
                try read.withUnsafeMutableBufferPointer { try FeatureShard.readRows(of: fbank, at: 0, count: 8, into: $0) }
                let expected = dtype == .float32 ? values : values.map { Float(Float16($0)) }
                XCTAssertEqual(read, expected, "\(frames)x\(bins) \(dtype)")
                XCTAssertEqual(try file.readStrings("/cycle_id"), try cycles(8).map(\.id))
            }
        }
    }

    func testCompressedShardsLeaveTheHashToThePublisher() throws {
        let (staged, values) = try stage("c.h5", rows: 5, frames: 7, bins: 5, dtype: .float32, deflateLevel: 4)
        XCTAssertNil(staged.checksum)
        XCTAssertEqual(try HDF5File(path: staged.temporary, mode: .readOnly).read("/fbank", as: Float.self).0, values)
    }
}
