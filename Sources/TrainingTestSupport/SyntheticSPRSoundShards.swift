import Durability
import FeatureStore
import Foundation
import HDF5
import PrepKit
import Training

/// Writes a feature set in the SPRSound shard format (`feature-shards/2`, corpus `sprsound`,
/// fixed in the SPRSound shard spec): per row `/level`, `/task_1_1`, `/task_1_2`, `/task_2_1`,
/// `/task_2_2` (int8, -1 where the task does not apply, attribute `classes`), `/age`, `/gender`,
/// and no `/label`, `/label2`, `/crackle`, `/wheeze`. Features have learnable class structure:
/// the row's 1-2 or 2-2 class raises its own band of bins.
public enum SyntheticSPRSoundShards {
    /// The four tasks of the spec, in its order.
    public static let tasks: [FeatureSetIndex.LabelTask] = SPRSoundRecipe.tasks

    /// Rows of one split: events (1-x labelled), records (2-x labelled, or -1 when `recordLabels` is false).
    public struct SplitPlan: Sendable {
        public var name: String
        public var events: Int
        public var records: Int
        public var recordLabels: Bool

        public init(_ name: String, events: Int, records: Int, recordLabels: Bool = true) {
            self.name = name
            self.events = events
            self.records = records
            self.recordLabels = recordLabels
        }
    }

    /// train, the 2022 patient tests, an event-only yearly test (no record labels, as 2024) and unassigned rows.
    public static let defaultPlan: [SplitPlan] = [
        SplitPlan("train", events: 42, records: 30), SplitPlan("inter_test", events: 14, records: 10),
        SplitPlan("intra_test", events: 14, records: 10), SplitPlan("test2024", events: 8, records: 4, recordLabels: false),
        SplitPlan("unassigned", events: 3, records: 0),
    ]

    /// The 1-1 class of a 1-2 class, and the 2-1 class of a 2-2 class (as FORMAT.md's mappings).
    public static func task11(_ c12: Int8) -> Int8 { c12 == 0 ? 0 : 1 }
    public static func task21(_ c22: Int8) -> Int8 { c22 < 2 ? c22 : 2 }

    /// Writes the set; `label` may replace any stored task value (task name, split, row, value)
    /// to write broken sets.
    public static func write(to directory: String, plan: [SplitPlan] = defaultPlan, featureSet: String = "sprsound-synthetic",
                             id: String = "5959abcd", seed: UInt64 = 1,
                             frames: Int = SyntheticCorpus.frames, bins: Int = SyntheticCorpus.bins,
                             label: ((_ task: String, _ split: String, _ row: Int, _ value: Int8) -> Int8)? = nil) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var rng = TrainingRNG(seed: seed)
        var shards: [FeatureSetIndex.Shard] = [], rowsBySplit: [String: Int] = [:]
        for (s, split) in plan.enumerated() {
            let n = split.events + split.records
            var columns: [String: [Int8]] = Dictionary(uniqueKeysWithValues: tasks.map { ($0.name, [Int8]()) })
            var features: [Float] = [], levels: [String] = []
            features.reserveCapacity(n * frames * bins)
            for r in 0..<n {
                let isEvent = r < split.events
                let c12 = Int8(r % 7), c22 = Int8((r - split.events) % 5)
                let row: [String: Int8] = isEvent
                    ? ["1-1": task11(c12), "1-2": c12, "2-1": -1, "2-2": -1]
                    : ["1-1": -1, "1-2": -1, "2-1": split.recordLabels ? task21(c22) : -1, "2-2": split.recordLabels ? c22 : -1]
                for task in tasks {
                    let value = row[task.name]!
                    columns[task.name]!.append(label?(task.name, split.name, r, value) ?? value)
                }
                levels.append(isEvent ? "event" : "record")
                // Class k of K raises bins [k * bins / K, (k + 1) * bins / K) over half the frames.
                let (k, classes) = isEvent ? (Int(c12), 7) : (Int(c22), 5)
                let onset = rng.randint(0, frames / 2)
                for f in 0..<frames {
                    for b in 0..<bins {
                        var v = Float(rng.normal() * 0.5)
                        if f >= onset && f < onset + frames / 2 && b * classes / bins == k && k > 0 { v += 1.0 }
                        features.append(v)
                    }
                }
            }
            let name = "\(split.name)-00000.h5"
            let path = directory + "/" + name
            do {   // closed (H5Fclose on deinit) before it is hashed
                let file = try HDF5File(path: path, mode: .create)
                let fbank = try file.createDataset(ShardDatasetName.fbank.path, of: Float.self, shape: [n, frames, bins],
                                                   options: DatasetOptions(chunks: [1, frames, bins]))
                try fbank.writeAll(features)
                try file.write(strings: (0..<n).map { "\(split.name)_\($0)" }, to: ShardDatasetName.cycleID.path)
                try file.write(strings: (0..<n).map { "\(40_000_000 + s * 100 + $0 / 4)_5.1_\($0 % 2)_p\($0 % 4 + 1)_\(s * 1000 + $0 / 2)" }, to: ShardDatasetName.recording.path)
                try file.write((0..<n).map { Int32(40_000_000 + s * 100 + $0 / 4) }, shape: [n], to: ShardDatasetName.patient.path)
                try file.write(strings: [String](repeating: split.name, count: n), to: ShardDatasetName.split.path)
                try file.write([Int8](repeating: -1, count: n), shape: [n], to: ShardDatasetName.fold.path)
                try file.write(strings: [String](repeating: "", count: n), to: ShardDatasetName.device.path)
                try file.write(strings: (0..<n).map { "p\($0 % 4 + 1)" }, to: ShardDatasetName.location.path)
                try file.write((0..<n).map { Double($0) * 0.5 }, shape: [n], to: ShardDatasetName.start.path)
                try file.write((0..<n).map { Double($0) * 0.5 + 1.2 }, shape: [n], to: ShardDatasetName.end.path)
                try file.write(strings: levels, to: ShardDatasetName.level.path)
                for task in tasks {
                    let dataset = "/" + task.datasetName
                    try file.write(columns[task.name]!, shape: [n], to: dataset)
                    try file.setAttribute("classes", .string(task.classes.joined(separator: ", ")), on: dataset)
                }
                try file.write((0..<n).map { r -> Double in r % 5 == 4 ? .nan : 0.3 + Double(r % 17) }, shape: [n], to: ShardDatasetName.age.path)
                try file.write((0..<n).map { Int8($0 % 3 - 1) }, shape: [n], to: ShardDatasetName.gender.path)
            }
            let bytes = try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int ?? 0
            shards.append(.init(file: name, split: split.name, rows: n, bytes: bytes,
                                checksum: .init(algorithm: .xxh64, value: try FileDigest.xxh64(ofFileAt: path))))
            rowsBySplit[split.name] = n
        }
        var index = FeatureSetIndex(
            featureSet: featureSet, id: id, frames: frames, bins: bins, createdAt: "2026-01-01T00:00:00Z",
            toolVersion: "test", options: [:], normalisation: .unnormalised,
            source: [:], rowsBySplit: rowsBySplit, shards: shards)
        index.format = FeatureSetIndex.corpusFormatName
        index.corpus = "sprsound"
        index.tasks = tasks
        try index.write(directory: directory)
    }
}
