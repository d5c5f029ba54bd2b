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
    /// Every cycle's group by `kind` (`CycleMetadata`'s codes), for the methods that group cycles.
    func groups(_ kind: CycleMetadata, metaFile: String?) throws(TrainingError) -> [Int]
}

extension CycleSource {
    /// Derived from the 4-class labels, for sources that store no 2-class ones (in memory);
    /// shards carry their own (`/label2`).
    public var binaryLabels: [Int] { labels.map(ShardRow.binaryLabel(of:)) }

    /// Labels for a `classes`-way model: 4-class, or 2-class (normal / abnormal).
    public func labels(classes: Int) -> [Int] {
        classes == 2 ? binaryLabels : labels
    }
}

extension CycleMetadata {
    /// The SG-SCL repository's device codes.
    static let deviceCodes = ["Meditron": 0, "LittC2SE": 1, "Litt3200": 2, "AKGC417L": 3]
    static let locationCodes = ["Tc": 0, "Al": 1, "Ar": 2, "Pl": 3, "Pr": 4, "Ll": 5, "Lr": 6]

    /// Codes per patient from the repository's metadata.txt layout (tab-separated: patient, age,
    /// sex, adult BMI, child weight, child height, chest location; NA where unknown), as its
    /// dataset code reads it: age NA counts as a child, sex other than M as 1, location NA as -1.
    static func patientCodes(_ kind: CycleMetadata, metaFile: String) throws(TrainingError) -> [Int: Int] {
        let text: String
        do { text = try String(contentsOfFile: metaFile, encoding: .utf8) } catch {
            throw .invalidOption("--meta \(kind.rawValue) needs the per-patient metadata: cannot read \(metaFile) (--meta-file)")
        }
        var codes: [Int: Int] = [:]
        for line in text.split(whereSeparator: \.isNewline) {
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard fields.count >= 7, let patient = Int(fields[0]) else { continue }
            switch kind {
            case .age: codes[patient] = (Double(fields[1]) ?? -1) >= 19 ? 0 : 1
            case .sex: codes[patient] = fields[2] == "M" ? 0 : 1
            case .loc: codes[patient] = locationCodes[fields[6]] ?? -1
            case .dev, .label: break
            }
        }
        return codes
    }
}

/// Cycles held in memory (tests, synthetic corpora).
public final class InMemoryCycles: CycleSource {
    public let frames: Int
    public let bins: Int
    public let labels: [Int]
    public let features: [Float]
    /// Groups by kind, when the corpus has them (tests, synthetic data).
    public let metadata: [CycleMetadata: [Int]]

    public init(frames: Int, bins: Int, labels: [Int], features: [Float], metadata: [CycleMetadata: [Int]] = [:]) {
        self.metadata = metadata
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

    public func groups(_ kind: CycleMetadata, metaFile: String?) throws(TrainingError) -> [Int] {
        if kind == .label { return labels }
        guard let groups = metadata[kind] else { throw .invalidOption("--meta \(kind.rawValue): these cycles carry no \(kind.rawValue)") }
        return groups
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
    /// Stethoscope of every cycle (nil where the shard stores none).
    public let devices: [String?]
    /// The label task the labels are of (`--task`; nil: ICBHI's 4-class labels).
    public let task: TaskDefinition?
    private let rows: FeatureSet.Selection

    /// The rows of `split` (with `task`: those the task labels).
    public convenience init(directory: String, split: String, task: String? = nil) throws(TrainingError) {
        try self.init(directory: directory, selection: .split(split), task: task)
    }

    /// `task`: a task of a feature set with tasks (SPRSound); it must be given for such a set and
    /// not for an ICBHI one.
    public init(directory: String, selection: RowSelection, task: String? = nil) throws(TrainingError) {
        let rows: FeatureSet.Selection
        let set: FeatureSet
        let labelTask: FeatureSetIndex.LabelTask?
        do {
            set = try FeatureSet(directory: directory)
            labelTask = try Self.resolve(task: task, in: set.index, directory: directory)
            switch selection {
            case .split(let split): rows = try set.rows(split: split, task: labelTask)
            case .folds(let folds): rows = try set.rows(folds: folds)
            }
        } catch let error as TrainingError {
            throw error
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
        devices = rows.rows.map(\.device)
        self.task = labelTask
        self.rows = rows
    }

    /// The index's task called `task`; nil for ICBHI sets without one. A set with tasks needs
    /// one named, an ICBHI set refuses one.
    static func resolve(task: String?, in index: FeatureSetIndex, directory: String) throws(TrainingError) -> FeatureSetIndex.LabelTask? {
        let tasks = index.tasks ?? []
        let names = tasks.map(\.name).joined(separator: "|")
        guard let task else {
            guard tasks.isEmpty && index.corpusName == FeatureSetIndex.icbhiCorpus else {
                throw .invalidOption("\(directory) is a \(index.corpusName) feature set: choose its label task with --task \(names.isEmpty ? "(it lists none)" : names)")
            }
            return nil
        }
        guard !tasks.isEmpty else {
            throw .invalidOption("--task \(task): \(directory) is an \(index.corpusName) feature set without label tasks (its classes: --classes 4 or 2)")
        }
        guard let found = index.task(named: task) else {
            throw .invalidOption("--task \(task): \(directory) has the tasks \(names)")
        }
        return found
    }

    public func groups(_ kind: CycleMetadata, metaFile: String?) throws(TrainingError) -> [Int] {
        switch kind {
        case .label: return labels
        case .dev:
            return try devices.enumerated().map { item throws(TrainingError) in
                let (i, device) = item
                guard let device, let code = CycleMetadata.deviceCodes[device] else {
                    throw .shards(path: directory, message: "cycle \(cycleIDs[i]) has no known stethoscope (\(device ?? "no /device in its shard")): --meta dev needs shards written by prep features")
                }
                return code
            }
        case .age, .sex, .loc:
            let file = metaFile ?? "manifests/icbhi/metadata.txt"
            let codes = try CycleMetadata.patientCodes(kind, metaFile: file)
            return try patients.enumerated().map { item throws(TrainingError) in
                let (i, patient) = item
                guard let code = codes[patient] else {
                    throw .invalidOption("--meta \(kind.rawValue): patient \(patient) of cycle \(cycleIDs[i]) is not in \(file)")
                }
                return code
            }
        }
    }

    public var count: Int { rows.count }

    public func readFeatures(_ i: Int, into buffer: UnsafeMutableBufferPointer<Float>) throws {
        // float32 or float16 shards (`prep features --dtype`): float32 either way.
        try rows.read(i, into: buffer)
    }
}
