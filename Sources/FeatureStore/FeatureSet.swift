import Durability
import Foundation
import HDF5

/// A feature set directory opened for reading: `index.json` validated, shards opened on demand.
/// The one reader of shards (training, `prep verify`, `prep show`, `prep features` reruns), so the
/// format's rules (dtype widening, row metadata, shape checks) live in one place. Shards are only
/// read: no lock file, and a read-only file system works.
public final class FeatureSet: Sendable {
    public let directory: String
    public let index: FeatureSetIndex

    /// Reads and checks `<directory>/index.json`.
    public init(directory: String) throws {
        let path = (directory as NSString).appendingPathComponent(FeatureSetIndex.fileName)
        guard FileManager.default.fileExists(atPath: path) else {
            throw StoreError.io(path: directory, reason: "no index.json: not a feature set written by `prep features` (run it first)")
        }
        self.directory = directory
        index = try FeatureSetIndex.read(directory: directory)
    }

    public var id: String { index.id }
    public var name: String { index.featureSet }
    public var frames: Int { index.frames }
    public var bins: Int { index.bins }
    public var normalisation: FeatureSetIndex.Normalisation { index.normalisation }
    public var shards: [FeatureSetIndex.Shard] { index.shards }
    /// The dtype the index declares (float32 when absent: older sets), nil for an unknown name.
    public var dtype: FeatureDType? {
        guard let value = index.options[FeatureSetIndex.OptionKey.dtype] else { return .float32 }
        return value.stringValue.flatMap(FeatureDType.init(rawValue:))
    }

    public func path(of shard: FeatureSetIndex.Shard) -> String {
        (directory as NSString).appendingPathComponent(shard.file)
    }

    /// Opens one listed shard; it must exist and its `fbank` must have the indexed shape.
    public func open(_ shard: FeatureSetIndex.Shard) throws -> ShardFile {
        let path = path(of: shard)
        guard FileManager.default.fileExists(atPath: path) else {
            throw StoreError.io(path: path, reason: "shard listed in index.json is missing (rerun `prep features`)")
        }
        let file = try ShardFile(path: path)
        guard file.fbankShape == [shard.rows, frames, bins] else {
            throw StoreError.mismatch(path: path, reason: "fbank shape \(file.fbankShape), index says [\(shard.rows), \(frames), \(bins)]")
        }
        return file
    }

    /// Every row of one split's shards (`train`, `test`, `unassigned`). With `task` (a task of
    /// the index: feature sets with `/task_<name>` datasets), the rows the task labels, with its
    /// class index as their label.
    public func rows(split: String, task: FeatureSetIndex.LabelTask? = nil) throws -> Selection {
        try select(index.shards.filter { $0.split == split }, task: task) { _ in true }
    }

    /// The splits the shards hold, in the order of `index.json`'s shard list.
    public var splits: [String] {
        var seen = Set<String>()
        return index.shards.map(\.split).filter { seen.insert($0).inserted }
    }

    /// Rows of every shard whose patient-wise fold is in `folds`.
    public func rows(folds: Set<Int>) throws -> Selection {
        try select(index.shards) { row in row.fold.map { folds.contains($0) } ?? false }
    }

    private func select(_ shards: [FeatureSetIndex.Shard], task: FeatureSetIndex.LabelTask? = nil,
                        where keep: (Selection.Row) -> Bool) throws -> Selection {
        var files: [ShardFile] = [], rows: [Selection.Row] = []
        for shard in shards {
            let file = try open(shard)
            let metadata = try file.selectionMetadata(rows: shard.rows, task: task)
            let kept = metadata.filter(keep)
            guard !kept.isEmpty else { continue }
            let number = files.count
            files.append(file)
            rows += kept.map { row in var row = row; row.shard = number; return row }
        }
        return Selection(frames: frames, bins: bins, rows: rows, shards: files)
    }

    /// Chosen rows of a feature set with the metadata training needs, readable as float32.
    public final class Selection: Sendable {
        public struct Row: Sendable, Equatable {
            /// Position of the row's shard among the selection's shards, and the row in it.
            public internal(set) var shard: Int
            public let row: Int
            public let cycleID: String
            /// 4-class label (0 normal, 1 crackle, 2 wheeze, 3 both); in a task's selection the
            /// row's class index in that task.
            public let label: Int
            /// 2-class label as stored in `/label2` (0 normal, 1 abnormal); in a task's selection
            /// 0 for class 0, else 1.
            public let binaryLabel: Int
            /// -1 when the shard has no `/patient`.
            public let patient: Int
            public let fold: Int?
            /// The stethoscope (`/device`), nil when the shard has none.
            public let device: String?
        }

        public let frames: Int
        public let bins: Int
        public let rows: [Row]
        private let shards: [ShardFile]

        init(frames: Int, bins: Int, rows: [Row], shards: [ShardFile]) {
            self.frames = frames
            self.bins = bins
            self.rows = rows
            self.shards = shards
        }

        public var count: Int { rows.count }

        /// Copies row `i` of the selection (float32, whatever the stored dtype) into `buffer`.
        public func read(_ i: Int, into buffer: UnsafeMutableBufferPointer<Float>) throws {
            let row = rows[i]
            try shards[row.shard].read(rowsAt: row.row, into: buffer)
        }

        /// `recording`, `start` and `end` of every row of the selection, in its order (the spans
        /// of a task's `train --eval --predictions`); each shard's columns are read once.
        public func recordingSpans() throws -> [(recording: String, start: Double, end: Double)] {
            var ofShard: [Int: [(recording: String, start: Double, end: Double)]] = [:]
            return try rows.map { row in
                if ofShard[row.shard] == nil { ofShard[row.shard] = try shards[row.shard].recordingSpans() }
                return ofShard[row.shard]![row.row]
            }
        }
    }
}

/// One shard file opened read-only. Reads are serialised by one process-wide lock: the HDF5
/// library is not thread-safe and the batch loader reads on its own thread.
public final class ShardFile: @unchecked Sendable {
    static let library = NSLock()

    public let path: String
    private let file: HDF5File
    private let fbank: Dataset
    /// `fbank`'s shape: [rows, frames, bins].
    public let fbankShape: [Int]

    public init(path: String) throws {
        self.path = path
        do {
            let opened = try Self.library.withLock {
                let file = try HDF5File(path: path, mode: .readOnly)
                return (file, try file.dataset(ShardDatasetName.fbank.path))
            }
            file = opened.0
            fbank = opened.1
            fbankShape = opened.1.shape
        } catch let error as StoreError {
            throw error
        } catch let error as HDF5Error {
            throw Self.storeError(error, path: path, dataset: ShardDatasetName.fbank.path)
        } catch {
            throw StoreError.io(path: path, reason: String(describing: error).droppingPrefix(path + ": "))
        }
        guard fbankShape.count == 3, fbankShape[1] > 0, fbankShape[2] > 0 else {
            throw StoreError.mismatch(path: path, reason: "/fbank has shape \(fbankShape), expected [rows, frames, bins]")
        }
    }

    public var rowCount: Int { fbankShape[0] }
    public var frames: Int { fbankShape[1] }
    public var bins: Int { fbankShape[2] }
    /// Values per row (frames x bins).
    public var rowLength: Int { frames * bins }
    /// The stored dtype of `fbank`, nil when neither float32 nor float16.
    public var storedDType: FeatureDType? { FeatureDType(of: fbank) }

    /// A root attribute (the feature set's options, `feature_set_id`, `rows`, ...), nil when absent.
    public func attribute(_ name: String) -> ShardAttributeValue? {
        Self.library.withLock {
            guard let value = try? file.attribute(name) else { return nil }
            return ShardAttributeValue(value)
        }
    }

    /// The shape of a dataset (`cycle_id`, `label`, ...), nil when the shard lacks it.
    public func shape(ofDataset name: String) -> [Int]? {
        Self.library.withLock { file.contains("/" + name) ? (try? file.dataset("/" + name))?.shape : nil }
    }

    /// Reads `count` consecutive rows starting at `row` into `buffer` as float32, whatever the stored dtype.
    public func read(rowsAt row: Int, count: Int = 1, into buffer: UnsafeMutableBufferPointer<Float>) throws {
        precondition(buffer.count == count * rowLength, "buffer of the wrong size")
        guard row >= 0, count >= 0, row + count <= rowCount else {
            throw StoreError.mismatch(path: path, reason: "no rows \(row)..<\(row + count) (the shard has \(rowCount) rows)")
        }
        try readable(ShardDatasetName.fbank.path) { try Self.library.withLock { try FeatureShard.readRows(of: fbank, at: row, count: count, into: buffer) } }
    }

    /// One row as float32.
    public func features(ofRow row: Int) throws -> [Float] {
        try [Float](unsafeUninitializedCapacity: rowLength) { buffer, initialized in
            try read(rowsAt: row, into: buffer)
            initialized = buffer.count
        }
    }

    /// Every `/cycle_id`.
    public func cycleIDs() throws -> [String] { try strings(.cycleID) }

    /// The row of a cycle id, nil when the shard does not hold it.
    public func row(ofCycle id: String) throws -> Int? { try cycleIDs().firstIndex(of: id) }

    /// The full metadata of one row (every per-row dataset the writer stores).
    public func metadata(ofRow row: Int) throws -> ShardRow {
        try shardRow(row) {
            (Int(try integers(.label)[row]), Int(try integers(.label2)[row]), try integers(.crackle)[row] != 0, try integers(.wheeze)[row] != 0)
        }
    }

    /// One row's ShardRow columns, `labels` (label, label2, crackle, wheeze) read between
    /// `patient` and `split`.
    private func shardRow(_ row: Int, labels: () throws -> (label: Int, binaryLabel: Int, crackle: Bool, wheeze: Bool)) throws -> ShardRow {
        guard (0..<rowCount).contains(row) else {
            throw StoreError.mismatch(path: path, reason: "no row \(row) (the shard has \(rowCount) rows)")
        }
        let fold = Int(try integers(.fold)[row])
        let id = try strings(.cycleID)[row], recording = try strings(.recording)[row], patient = Int(try integers(.patient)[row])
        let read = try labels()
        return ShardRow(
            id: id, recording: recording, patient: patient,
            label: read.label, binaryLabel: read.binaryLabel, crackle: read.crackle, wheeze: read.wheeze,
            split: try strings(.split)[row], fold: fold >= 0 ? fold : nil,
            device: try strings(.device)[row], location: try strings(.location)[row],
            start: try doubles(.start)[row], end: try doubles(.end)[row])
    }

    /// `recording`, `start` and `end` of every row, one read per dataset (`metadata(ofRow:)` reads
    /// every dataset whole for one row): the spans of `train --eval --predictions`.
    public func recordingSpans() throws -> [(recording: String, start: Double, end: Double)] {
        let recordings = try strings(.recording), starts = try doubles(.start), ends = try doubles(.end)
        guard recordings.count == rowCount, starts.count == rowCount, ends.count == rowCount else {
            throw StoreError.mismatch(path: path, reason: "recording/start/end do not have \(rowCount) rows")
        }
        return (0..<rowCount).map { (recordings[$0], starts[$0], ends[$0]) }
    }

    /// What a selection needs of every row; `cycle_id` and `patient` may be absent (ids then name
    /// the file and row), `label` and `label2` may not (ICBHI). With `task`, only the task's
    /// `/task_<name>` is needed instead, and only the rows it labels (class index >= 0) are returned.
    func selectionMetadata(rows: Int, task: FeatureSetIndex.LabelTask? = nil) throws -> [FeatureSet.Selection.Row] {
        if let task { return try taskSelectionMetadata(rows: rows, task: task) }
        let labels = try integers(.label), binary = try integers(.label2)
        for (name, column) in [(ShardDatasetName.label.name, labels), (ShardDatasetName.label2.name, binary)] where column.count != rows {
            throw StoreError.mismatch(path: path, reason: "\(name) has \(column.count) rows, expected \(rows)")
        }
        let (ids, patients, folds, devices, name) = try optionalSelectionColumns(folds: true)
        return try (0..<rows).map { r in
            guard (0...3).contains(labels[r]) else {
                throw StoreError.mismatch(path: path, reason: "label \(labels[r]) at row \(r) is not a 4-class label")
            }
            let fold = r < folds.count && folds[r] >= 0 ? Int(folds[r]) : nil
            return .init(shard: 0, row: r, cycleID: r < ids.count ? ids[r] : "\(name):\(r)", label: Int(labels[r]),
                         binaryLabel: Int(binary[r]), patient: r < patients.count ? Int(patients[r]) : -1, fold: fold,
                         device: r < devices.count ? devices[r] : nil)
        }
    }

    /// `selectionMetadata` of a task: its class indices must lie in -1 ..< its class count.
    private func taskSelectionMetadata(rows: Int, task: FeatureSetIndex.LabelTask) throws -> [FeatureSet.Selection.Row] {
        let labels = try integers(task.datasetName)
        guard labels.count == rows else {
            throw StoreError.mismatch(path: path, reason: "\(task.datasetName) has \(labels.count) rows, expected \(rows)")
        }
        let (ids, patients, _, devices, name) = try optionalSelectionColumns(folds: false)
        return try (0..<rows).compactMap { r -> FeatureSet.Selection.Row? in
            guard (-1..<Int64(task.classes.count)).contains(labels[r]) else {
                throw StoreError.mismatch(path: path, reason: "\(task.datasetName) \(labels[r]) at row \(r) is neither -1 nor a class of task \(task.name) (0-\(task.classes.count - 1))")
            }
            guard labels[r] >= 0 else { return nil }
            let label = Int(labels[r])
            return .init(shard: 0, row: r, cycleID: r < ids.count ? ids[r] : "\(name):\(r)", label: label,
                         binaryLabel: ShardRow.binaryLabel(of: label), patient: r < patients.count ? Int(patients[r]) : -1, fold: nil,
                         device: r < devices.count ? devices[r] : nil)
        }
    }

    /// A selection's optional columns, each empty when the shard lacks it (`fold` not read unless
    /// `folds`), and the shard's file name (ids of a shard without `cycle_id`).
    private func optionalSelectionColumns(folds: Bool) throws -> (ids: [String], patients: [Int64], folds: [Int64], devices: [String], name: String) {
        let ids = shape(ofDataset: ShardDatasetName.cycleID.name) != nil ? try cycleIDs() : []
        let patients = shape(ofDataset: ShardDatasetName.patient.name) != nil ? try integers(.patient) : []
        let foldColumn = folds && shape(ofDataset: ShardDatasetName.fold.name) != nil ? try integers(.fold) : []
        let devices = shape(ofDataset: ShardDatasetName.device.name) != nil ? try strings(.device) : []
        return (ids, patients, foldColumn, devices, URL(fileURLWithPath: path).lastPathComponent)
    }

    private func strings(_ dataset: ShardDatasetName) throws -> [String] { try strings(dataset.name) }
    private func integers(_ dataset: ShardDatasetName) throws -> [Int64] { try integers(dataset.name) }
    private func doubles(_ dataset: ShardDatasetName) throws -> [Double] { try doubles(dataset.name) }

    private func strings(_ name: String) throws -> [String] {
        try readable("/" + name) { try Self.library.withLock { try file.readStrings("/" + name) } }
    }

    private func integers(_ name: String) throws -> [Int64] {
        try readable("/" + name) { try Self.library.withLock { try file.read("/" + name, as: Int64.self).0 } }
    }

    private func doubles(_ name: String) throws -> [Double] {
        try readable("/" + name) { try Self.library.withLock { try file.read("/" + name, as: Double.self).0 } }
    }

    private func readable<T>(_ dataset: String, _ body: () throws -> T) throws -> T {
        do { return try body() } catch let error as HDF5Error { throw Self.storeError(error, path: path, dataset: dataset) }
    }

    /// HDF5's failures on a shard ("H5Dread failed: ...", "H5Fopen failed: unknown error") as
    /// what they mean to a user: no such dataset, or a damaged file.
    static func storeError(_ error: HDF5Error, path: String, dataset: String) -> StoreError {
        if let cause = error.cause { return .io(path: path, reason: cause) }   // opening: already in words
        let m = error.message.lowercased()
        if m.contains("doesn't exist") || m.contains("not found") { return .mismatch(path: path, reason: "has no \(dataset) dataset") }
        return .io(path: path, reason: "cannot read \(dataset): the file is truncated or corrupt")
    }
}

// MARK: - Task-described shards (`feature-shards/2`, e.g. SPRSound): what `prep show` needs.
// (Kept apart from the ICBHI readers above; training's reading of task labels is elsewhere.)
extension ShardFile {
    /// Whether the shard stores task columns (`/level`, `/task_*`) instead of ICBHI's `/label`.
    public var hasTaskColumns: Bool { shape(ofDataset: ShardDatasetName.level.name) != nil }

    /// The shard's per-row datasets of a task-described layout (`level`, `task_*`, `age`, `gender`).
    public var taskDatasets: [String] {
        let tasks = (try? taskDatasetNames()) ?? []
        return [ShardDatasetName.level.name] + tasks + [ShardDatasetName.age.name, ShardDatasetName.gender.name]
    }

    /// One row's common metadata (`/label` etc. left at -1/false) and its level and class per
    /// task (`task_1_2` -> (`1-2`... as the dataset names it, class name or -1)), in dataset-name order.
    public func taskMetadata(ofRow row: Int) throws -> (row: ShardRow, level: String, labels: [(dataset: String, value: Int, name: String?)]) {
        let metadata = try shardRow(row) { (-1, -1, false, false) }
        let names = try taskDatasetNames()
        let labels = try names.map { name -> (dataset: String, value: Int, name: String?) in
            let value = Int(try integers(name)[row])
            let classes = Self.library.withLock { (try? file.attribute("classes", on: "/" + name))?.stringValue }
            let list = classes?.components(separatedBy: ", ") ?? []
            return (name, value, list.indices.contains(value) ? list[value] : nil)
        }
        return (metadata, try strings(.level)[row], labels)
    }

    /// The shard's `/task_*` datasets, by name.
    private func taskDatasetNames() throws -> [String] {
        try Self.library.withLock { try file.children(of: "/") }.filter { $0.hasPrefix(ShardDatasetName.taskPrefix) }.sorted()
    }
}
