import Durability
import FeatureStore
import Foundation

/// Respiratory cycles with their spectrograms: what the trainer reads. Implementations must
/// allow `readFeatures` from a background thread (the batch loader's).
public protocol CycleSource: AnyObject, Sendable {
    var count: Int { get }
    /// Spectrogram shape: frames x bins (798 x 128 for the paper's features).
    var frames: Int { get }
    var bins: Int { get }
    /// 4-class labels (normal 0, crackle 1, wheeze 2, both 3), one per cycle.
    var labels: [Int] { get }
    /// 2-class labels (normal 0, abnormal 1), one per cycle.
    var binaryLabels: [Int] { get }
    /// Copies cycle `i`'s normalised spectrogram [frames, bins] into `buffer`.
    func readFeatures(_ i: Int, into buffer: UnsafeMutableBufferPointer<Float>) throws
}

extension CycleSource {
    /// Derived from the 4-class labels, for sources that store no 2-class ones (in memory);
    /// shards carry their own (`/label2`).
    public var binaryLabels: [Int] { labels.map { $0 == 0 ? 0 : 1 } }

    /// Labels for a `classes`-way model: 4-class, or 2-class (normal / abnormal).
    public func labels(classes: Int) -> [Int] {
        classes == 2 ? binaryLabels : labels
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
    /// Another process holds the run directory's lock: the run is going on elsewhere.
    case runLocked(directory: String, holder: String)
    /// The requested device cannot be used, or none was requested and the machine's is unusable.
    case device(String)

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
        case .runLocked(let directory, let holder): "\(directory): running elsewhere: another train process (\(holder)) is working on this run"
        case .device(let message): "device: \(message)"
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
/// through FeatureStore's `FeatureSet` (one open file per shard, kept open; reads serialised by
/// its lock). Shards are only read: a read-only file system works, and no lock file is taken.
public final class ShardCycles: CycleSource, Sendable {
    public let directory: String
    public let selection: RowSelection
    public let index: FeatureSetIndex
    public let frames: Int
    public let bins: Int
    public let labels: [Int]
    /// As stored in the shards' `/label2`.
    public let binaryLabels: [Int]
    public let cycleIDs: [String]
    /// Patient number of every cycle (patient-disjointness checks of `--test-fold`).
    public let patients: [Int]
    private let rows: FeatureSet.Selection

    /// The rows of `split`.
    public convenience init(directory: String, split: String) throws(TrainingError) {
        try self.init(directory: directory, selection: .split(split))
    }

    public init(directory: String, selection: RowSelection) throws(TrainingError) {
        let rows: FeatureSet.Selection
        let set: FeatureSet
        do {
            set = try FeatureSet(directory: directory)
            switch selection {
            case .split(let split): rows = try set.rows(split: split)
            case .folds(let folds): rows = try set.rows(folds: folds)
            }
        } catch let error as StoreError {
            throw .shards(path: error.path, message: error.reason)   // the file it concerns, once
        } catch {
            throw .shards(path: directory, message: "\(error)")
        }
        guard rows.count > 0 else { throw .emptySplit(path: directory, split: selection.description) }
        self.directory = directory
        self.selection = selection
        index = set.index
        frames = set.frames
        bins = set.bins
        labels = rows.rows.map(\.label)
        binaryLabels = rows.rows.map(\.binaryLabel)
        cycleIDs = rows.rows.map(\.cycleID)
        patients = rows.rows.map(\.patient)
        self.rows = rows
    }

    public var count: Int { rows.count }

    public func readFeatures(_ i: Int, into buffer: UnsafeMutableBufferPointer<Float>) throws {
        // float32 or float16 shards (`prep features --dtype`): float32 either way.
        try rows.read(i, into: buffer)
    }
}
