import Durability
import FeatureStore
import Foundation
import HDF5
import PrepKit
import Training

/// Writes a feature set in the `prep features` shard layout (icbhi-feature-shards/1).
public enum SyntheticShards {
    /// `patient` and `fold` give row r of a split its patient and patient-wise fold.
    public static func write(to directory: String, train: InMemoryCycles, test: InMemoryCycles, featureSet: String = "synthetic",
                             id: String = "0123abcd", options: [String: FeatureSetIndex.OptionValue] = [:],
                             patient: (_ split: String, _ row: Int) -> Int32 = { _, _ in 101 },
                             fold: (_ split: String, _ row: Int) -> Int8 = { _, _ in 0 }) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var shards: [FeatureSetIndex.Shard] = []
        for (split, data) in [("train", train), ("test", test)] {
            let name = "\(split)-00000.h5"
            let n = data.count
            do {   // the file closes (H5Fclose on deinit) at the end of this scope, before it is hashed
                let file = try HDF5File(path: directory + "/" + name, mode: .create)
                let fbank = try file.createDataset(ShardDatasetName.fbank.path, of: Float.self, shape: [n, data.frames, data.bins],
                                                   options: DatasetOptions(chunks: [1, data.frames, data.bins]))
                try fbank.writeAll(data.features)
                try file.write(data.labels.map { Int8($0) }, shape: [n], to: ShardDatasetName.label.path)
                try file.write(data.labels.map { Int8(ShardRow.binaryLabel(of: $0)) }, shape: [n], to: ShardDatasetName.label2.path)
                try file.write(data.labels.map { Int8($0 & 1) }, shape: [n], to: ShardDatasetName.crackle.path)
                try file.write(data.labels.map { Int8($0 >> 1) }, shape: [n], to: ShardDatasetName.wheeze.path)
                try file.write((0..<n).map { patient(split, $0) }, shape: [n], to: ShardDatasetName.patient.path)
                try file.write((0..<n).map { fold(split, $0) }, shape: [n], to: ShardDatasetName.fold.path)
                try file.write((0..<n).map { Double($0) }, shape: [n], to: ShardDatasetName.start.path)
                try file.write((0..<n).map { Double($0) + 1 }, shape: [n], to: ShardDatasetName.end.path)
                try file.write(strings: (0..<n).map { "\(split)_\($0)" }, to: ShardDatasetName.cycleID.path)
                try file.write(strings: [String](repeating: split, count: n), to: ShardDatasetName.split.path)
            }
            let bytes = try FileManager.default.attributesOfItem(atPath: directory + "/" + name)[.size] as? Int ?? 0
            shards.append(.init(file: name, split: split, rows: n, bytes: bytes,
                                checksum: .init(algorithm: .xxh64, value: try FileDigest.xxh64(ofFileAt: directory + "/" + name))))
        }
        let index = FeatureSetIndex(
            featureSet: featureSet, id: id, frames: train.frames, bins: train.bins, createdAt: "2026-01-01T00:00:00Z",
            toolVersion: "test", options: options, normalisation: .unnormalised,
            source: [:], rowsBySplit: ["train": train.count, "test": test.count], shards: shards)
        try index.write(directory: directory)
    }
}
