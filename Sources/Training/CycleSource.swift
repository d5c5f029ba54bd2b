import Foundation
import FeatureStore
import HDF5

/// Respiratory cycles with their spectrograms: what the trainer reads. Implementations must
/// allow `readFeatures` from a background thread (the batch loader's).
public protocol CycleSource: AnyObject, Sendable {
    var count: Int { get }
    /// Spectrogram shape: frames x bins (798 x 128 for the paper's features).
    var frames: Int { get }
    var bins: Int { get }
    /// 4-class labels (normal 0, crackle 1, wheeze 2, both 3), one per cycle.
    var labels: [Int] { get }
    /// Copies cycle `i`'s normalised spectrogram [frames, bins] into `buffer`.
    func readFeatures(_ i: Int, into buffer: UnsafeMutableBufferPointer<Float>) throws
}

extension CycleSource {
    /// Labels for a `classes`-way model: 4-class as stored, or 2-class (normal / abnormal).
    public func labels(classes: Int) -> [Int] {
        classes == 2 ? labels.map { $0 == 0 ? 0 : 1 } : labels
    }
}

/// Cycles held in memory (tests, synthetic corpora).
public final class InMemoryCycles: CycleSource {
    public let frames: Int
    public let bins: Int
    public let labels: [Int]
    public let features: [Float]

    public init(frames: Int, bins: Int, labels: [Int], features: [Float]) {
        precondition(features.count == labels.count * frames * bins, "features do not match labels x frames x bins")
        self.frames = frames
        self.bins = bins
        self.labels = labels
        self.features = features
    }

    public var count: Int { labels.count }

    public func readFeatures(_ i: Int, into buffer: UnsafeMutableBufferPointer<Float>) throws {
        let n = frames * bins
        precondition(buffer.count == n)
        features.withUnsafeBufferPointer { src in
            _ = buffer.initialize(from: src[(i * n)..<((i + 1) * n)])
        }
    }
}

/// Errors about the trainer's inputs and runs; messages name what to fix.
public enum TrainingError: Error, CustomStringConvertible, Sendable {
    case shards(path: String, message: String)
    case emptySplit(path: String, split: String)
    case inputShape(String)
    case nonFiniteLoss(epoch: Int, step: Int, globalStep: Int, loss: Double)
    case checkpoint(path: String, message: String)
    case torch(TorchError)
    case invalidOption(String)

    public var description: String {
        switch self {
        case .shards(let path, let message): "\(path): \(message)"
        case .emptySplit(let path, let split): "\(path): the \(split) has no cycles"
        case .inputShape(let message): "wrong input shape for the model: \(message)"
        case .nonFiniteLoss(let epoch, let step, let global, let loss):
            "training loss is \(loss) at epoch \(epoch), step \(step) (global step \(global)); stopping"
        case .checkpoint(let path, let message): "\(path): \(message)"
        case .torch(let e): "libtorch: \(e)"
        case .invalidOption(let message): message
        }
    }
}

extension FeatureSetIndex {
    /// Reads and checks `<directory>/index.json` (FeatureStore's reader), as a training error.
    static func load(directory: String) throws(TrainingError) -> FeatureSetIndex {
        guard FileManager.default.fileExists(atPath: (directory as NSString).appendingPathComponent(fileName)) else {
            throw .shards(path: directory, message: "no index.json: not a feature set written by `prep features` (run it first)")
        }
        do { return try read(directory: directory) } catch {
            throw .shards(path: directory, message: "\(error)")
        }
    }
}

/// Which rows of a feature set a `ShardCycles` reads.
public enum RowSelection: Sendable, Equatable, CustomStringConvertible {
    /// Every row of one split's shards (`train`, `test`, `unassigned`).
    case split(String)
    /// Rows of every shard whose patient-wise `fold` is in the set (`--test-fold`).
    case folds(Set<Int>)

    public var description: String {
        switch self {
        case .split(let name): "\(name) split"
        case .folds(let folds): "fold\(folds.count == 1 ? "" : "s") \(folds.sorted().map(String.init).joined(separator: ","))"
        }
    }
}

/// The cycles of one selection of a feature set (a split, or a set of folds), read row by row
/// from its HDF5 shards. HDF5 calls are serialised by a lock (one open file per shard, kept open).
/// Shards are only read: a feature set on a read-only file system works, and no lock file is taken.
public final class ShardCycles: CycleSource, @unchecked Sendable {
    public let directory: String
    public let selection: RowSelection
    public let index: FeatureSetIndex
    public let frames: Int
    public let bins: Int
    public let labels: [Int]
    public let cycleIDs: [String]
    /// Patient number of every cycle (patient-disjointness checks of `--test-fold`).
    public let patients: [Int]
    private let rows: [(shard: Int, row: Int)]
    private let datasets: [Dataset]
    private let files: [HDF5File]
    private let lock = NSLock()

    /// The rows of `split`.
    public convenience init(directory: String, split: String) throws(TrainingError) {
        try self.init(directory: directory, selection: .split(split))
    }

    public init(directory: String, selection: RowSelection) throws(TrainingError) {
        let index = try FeatureSetIndex.load(directory: directory)
        self.directory = directory
        self.selection = selection
        self.index = index
        frames = index.frames
        bins = index.bins
        var labels: [Int] = [], ids: [String] = [], rows: [(Int, Int)] = [], patients: [Int] = []
        var files: [HDF5File] = [], datasets: [Dataset] = []
        let shards: [FeatureSetIndex.Shard]
        switch selection {
        case .split(let split): shards = index.shards.filter { $0.split == split }
        case .folds: shards = index.shards
        }
        for shard in shards {
            let path = (directory as NSString).appendingPathComponent(shard.file)
            guard FileManager.default.fileExists(atPath: path) else {
                throw .shards(path: path, message: "shard listed in index.json is missing (rerun `prep features`)")
            }
            do {
                let file = try HDF5File(path: path, mode: .readOnly)
                let fbank = try file.dataset("/fbank")
                guard fbank.shape == [shard.rows, frames, bins] else {
                    throw TrainingError.shards(path: path, message: "fbank has shape \(fbank.shape), index says [\(shard.rows), \(frames), \(bins)]")
                }
                let (label, _) = try file.read("/label", as: Int8.self)
                guard label.count == shard.rows else {
                    throw TrainingError.shards(path: path, message: "label has \(label.count) rows, expected \(shard.rows)")
                }
                let shardIDs = file.contains("/cycle_id") ? try file.readStrings("/cycle_id") : []
                let shardPatients = file.contains("/patient") ? try file.read("/patient", as: Int32.self).0 : []
                var keep = [Bool](repeating: true, count: shard.rows)
                if case .folds(let wanted) = selection {
                    let (fold, _) = try file.read("/fold", as: Int8.self)
                    guard fold.count == shard.rows else {
                        throw TrainingError.shards(path: path, message: "fold has \(fold.count) rows, expected \(shard.rows)")
                    }
                    keep = fold.map { wanted.contains(Int($0)) }
                }
                guard keep.contains(true) else { continue }
                let s = files.count
                files.append(file)
                datasets.append(fbank)
                for (r, l) in label.enumerated() where keep[r] {
                    guard (0...3).contains(l) else {
                        throw TrainingError.shards(path: path, message: "label \(l) at row \(r) is not a 4-class label")
                    }
                    labels.append(Int(l))
                    rows.append((s, r))
                    ids.append(r < shardIDs.count ? shardIDs[r] : "\(shard.file):\(r)")
                    patients.append(r < shardPatients.count ? Int(shardPatients[r]) : -1)
                }
            } catch let e as TrainingError {
                throw e
            } catch {
                throw .shards(path: path, message: "\(error)")
            }
        }
        guard !rows.isEmpty else { throw .emptySplit(path: directory, split: selection.description) }
        self.labels = labels
        self.cycleIDs = ids
        self.patients = patients
        self.rows = rows
        self.files = files
        self.datasets = datasets
    }

    public var count: Int { rows.count }

    public func readFeatures(_ i: Int, into buffer: UnsafeMutableBufferPointer<Float>) throws {
        let (s, r) = rows[i]
        lock.lock()
        defer { lock.unlock() }
        // float32 or float16 shards (`prep features --dtype`): float32 either way.
        try FeatureShard.readRows(of: datasets[s], at: r, into: buffer)
    }
}
