import Durability
import Foundation
import HDF5

/// How `fbank` values are stored: float32 (exact, the default) or IEEE binary16 (half the size;
/// h5py reads `numpy.float16`).
public enum FeatureDType: String, CaseIterable, Sendable, Codable {
    case float32
    case float16

    /// Bytes per stored value.
    public var byteCount: Int { self == .float32 ? 4 : 2 }

    /// The dtype of a stored `fbank` dataset, or nil when it holds neither.
    public init?(of dataset: Dataset) {
        switch dataset.floatBits {
        case 32: self = .float32
        case 16: self = .float16
        default: return nil
        }
    }
}

/// Feature rows in the shard's dtype, made on a worker thread: the exact bytes the file stores, in
/// page-aligned memory (what `O_DIRECT` needs).
public final class EncodedRows: @unchecked Sendable {
    public let dtype: FeatureDType
    public let count: Int
    /// The stored bytes; immutable once `init` returns.
    public let bytes: UnsafeMutableRawBufferPointer

    /// `count` rows of `rowLength` values each; `fill` writes the float32 values.
    public init(count: Int, rowLength: Int, as dtype: FeatureDType,
                fill: (UnsafeMutableBufferPointer<Float>) throws -> Void) rethrows {
        self.dtype = dtype
        self.count = count
        let values = count * rowLength
        let bytes = UnsafeMutableRawBufferPointer.allocate(byteCount: max(1, values * dtype.byteCount), alignment: 4096)
        do {
            switch dtype {
            case .float32:
                try fill(UnsafeMutableBufferPointer(start: bytes.baseAddress!.bindMemory(to: Float.self, capacity: values), count: values))
            case .float16:
                let single = UnsafeMutableBufferPointer<Float>.allocate(capacity: values)
                defer { single.deallocate() }
                try fill(single)
                HalfPrecision.convert(UnsafeBufferPointer(single),
                                      into: UnsafeMutableBufferPointer(start: bytes.baseAddress!.bindMemory(to: Float16.self, capacity: values), count: values))
            }
        } catch {
            bytes.deallocate()
            throw error
        }
        self.bytes = UnsafeMutableRawBufferPointer(rebasing: bytes[..<(values * dtype.byteCount)])
    }

    deinit { bytes.deallocate() }
}

/// One feature shard: `fbank` [rows, frames, bins] in float32 or float16 plus one dataset per
/// cycle attribute. `fbank` is contiguous and 4 KiB-aligned (row r at one offset: a reader fetches
/// a cycle with one read; the writer sends rows to the disk straight from the workers' buffers);
/// with `--compress` it is chunked one row per chunk, shuffled and deflated.
public enum FeatureShard {
    /// Per-row metadata, in the order the rows are stored.
    public struct Rows: Sendable {
        public var cycles: [ShardRow]
        /// The tasks of a task-described shard (every row then has `tasks`); nil for ICBHI's layout.
        public var tasks: [FeatureSetIndex.LabelTask]?
        public init(cycles: [ShardRow], tasks: [FeatureSetIndex.LabelTask]? = nil) {
            self.cycles = cycles
            self.tasks = tasks
        }
    }

    /// The checksum of shards written now (`index.json` records it; see `XXH64` for why not SHA-256).
    public static let checksumAlgorithm = DigestAlgorithm.xxh64

    /// A staged shard: its temp file and, when it could be taken while writing, its
    /// ``checksumAlgorithm`` digest.
    public struct Staged: Sendable {
        public let temporary: String
        public let checksum: String?
    }

    /// Writes encoded `fbank` rows in row order.
    public final class RowWriter {
        enum Target {
            /// Compressed shards: through HDF5's filters.
            case library(Dataset)
            /// Contiguous shards: raw bytes at the dataset's offset, hashed on the way.
            case raw(ShardDataWriter)
        }
        let target: Target
        public let dtype: FeatureDType

        init(_ target: Target, dtype: FeatureDType) {
            self.target = target
            self.dtype = dtype
        }

        /// Writes `rows` as the rows starting at `row` (the next row not yet written).
        public func write(_ rows: EncodedRows, at row: Int) throws {
            precondition(rows.dtype == dtype, "rows encoded as \(rows.dtype), the shard stores \(dtype)")
            switch target {
            case .raw(let writer):
                try writer.write(rows, atRow: row)
            case .library(let dataset):
                let values = rows.bytes.count / dtype.byteCount
                switch dtype {
                case .float32:
                    try dataset.write(rows: UnsafeBufferPointer(start: rows.bytes.baseAddress!.assumingMemoryBound(to: Float.self), count: values),
                                      at: row, count: rows.count)
                case .float16:
                    try dataset.write(rows: UnsafeBufferPointer(start: rows.bytes.baseAddress!.assumingMemoryBound(to: Float16.self), count: values),
                                      at: row, count: rows.count)
                }
            }
        }
    }

    /// Writes a shard's temp file (`fill` writes `fbank` row by row) and returns it, not yet
    /// synced: publish it with a `DurablePublisher`. The file holds no wall-clock time: same
    /// inputs, same bytes. Uncompressed shards: HDF5 writes everything but `fbank`'s values
    /// (their space allocated, never filled) and closes the file; the values are then written
    /// into that space directly, and the file's checksum is taken as they stream past (no second
    /// read of the file).
    public static func stage(
        path: String, rows: Rows, frames: Int, bins: Int, dtype: FeatureDType = .float32, deflateLevel: Int,
        attributes: [(String, ShardAttributeValue)], fill: (RowWriter) throws -> Void
    ) throws -> Staged {
        var digest: String?
        let temporary = try AtomicFile.stage(path, sync: false) { temporary in
            let cycles = rows.cycles
            let raw = deflateLevel == 0
            var rawValues: (offset: Int, rowBytes: Int)?
            do {
                let file = try HDF5File(path: temporary, mode: .create, alignment: raw ? ShardDataWriter.alignment : nil)
                for (name, value) in attributes { try file.setAttribute(name, value.hdf5) }
                let layout = DatasetOptions(chunks: raw ? nil : [1, frames, bins], deflateLevel: deflateLevel, allocatedAtCreation: raw)
                let shape = [cycles.count, frames, bins]
                let fbank = switch dtype {
                case .float32: try file.createDataset(ShardDatasetName.fbank.path, of: Float.self, shape: shape, options: layout)
                case .float16: try file.createDataset(ShardDatasetName.fbank.path, of: Float16.self, shape: shape, options: layout)
                }
                try file.setAttribute("description", .string("log mel filterbank per cycle: [row, frame, mel bin]"), on: ShardDatasetName.fbank.path)
                try file.setAttribute("axes", .string("row, frame (10 ms), mel bin (low to high)"), on: ShardDatasetName.fbank.path)
                try writeRowDatasets(cycles, tasks: rows.tasks, to: file)
                try file.flush()
                if raw, let offset = fbank.fileOffset {
                    rawValues = (offset, fbank.rowLength * dtype.byteCount)
                } else {
                    try fill(RowWriter(.library(fbank), dtype: dtype))
                    try file.flush()
                }
            }
            // The file is closed: HDF5 has written all it will (the values' space is allocated and
            // never filled), so every byte around the values is final and can be hashed in order.
            if let (offset, rowBytes) = rawValues {
                let writer = try ShardDataWriter(path: temporary, dataOffset: offset, rowBytes: rowBytes, rows: cycles.count)
                try fill(RowWriter(.raw(writer), dtype: dtype))
                try writer.finishData()
                digest = try writer.finishFile()
            }
        }
        return Staged(temporary: temporary, checksum: digest)
    }

    /// One 1-D dataset per cycle attribute.
    private static func writeRowDatasets(_ cycles: [ShardRow], tasks: [FeatureSetIndex.LabelTask]?, to file: HDF5File) throws {
        try file.write(strings: cycles.map(\.id), to: ShardDatasetName.cycleID.path)
        try file.write(strings: cycles.map(\.recording), to: ShardDatasetName.recording.path)
        try file.write(cycles.map { Int32($0.patient) }, shape: [cycles.count], to: ShardDatasetName.patient.path)
        if let tasks {
            try writeTaskDatasets(cycles, tasks: tasks, to: file)
            return
        }
        try file.write(cycles.map { Int8($0.label) }, shape: [cycles.count], to: ShardDatasetName.label.path)
        try file.setAttribute("classes", .string("0 normal, 1 crackle, 2 wheeze, 3 both"), on: ShardDatasetName.label.path)
        try file.write(cycles.map { Int8($0.binaryLabel) }, shape: [cycles.count], to: ShardDatasetName.label2.path)
        try file.setAttribute("classes", .string("0 normal, 1 abnormal"), on: ShardDatasetName.label2.path)
        try file.write(cycles.map { Int8($0.crackle ? 1 : 0) }, shape: [cycles.count], to: ShardDatasetName.crackle.path)
        try file.write(cycles.map { Int8($0.wheeze ? 1 : 0) }, shape: [cycles.count], to: ShardDatasetName.wheeze.path)
        try writeCommonTail(cycles, to: file)
    }

    /// The task-described layout (`feature-shards/2`): the common columns, then `/level`, one
    /// int8 `/task_*` per task (attribute `classes`), `/age`, `/gender`.
    private static func writeTaskDatasets(_ cycles: [ShardRow], tasks: [FeatureSetIndex.LabelTask], to file: HDF5File) throws {
        let columns = try cycles.map { row -> TaskColumns in
            guard let columns = row.tasks, columns.labels.count == tasks.count else {
                throw StoreError.mismatch(path: file.path, reason: "row \(row.id) has no label for each of the \(tasks.count) tasks")
            }
            return columns
        }
        try writeCommonTail(cycles, to: file)
        try file.write(strings: columns.map(\.level), to: ShardDatasetName.level.path)
        for (number, task) in tasks.enumerated() {
            let dataset = "/" + task.datasetName
            try file.write(columns.map { Int8($0.labels[number]) }, shape: [cycles.count], to: dataset)
            try file.setAttribute("classes", .string(task.classes.joined(separator: ", ")), on: dataset)
            try file.setAttribute("missing", .integer(-1), on: dataset)
        }
        try file.write(columns.map(\.age), shape: [cycles.count], to: ShardDatasetName.age.path)
        try file.setAttribute("units", .string("years, NaN when unknown"), on: ShardDatasetName.age.path)
        try file.write(columns.map { Int8($0.gender) }, shape: [cycles.count], to: ShardDatasetName.gender.path)
        try file.setAttribute("classes", .string("0 male, 1 female, -1 unknown"), on: ShardDatasetName.gender.path)
    }

    /// The columns after the labels, the same in both layouts.
    private static func writeCommonTail(_ cycles: [ShardRow], to file: HDF5File) throws {
        try file.write(strings: cycles.map(\.split), to: ShardDatasetName.split.path)
        try file.write(cycles.map { Int8($0.fold ?? -1) }, shape: [cycles.count], to: ShardDatasetName.fold.path)
        try file.setAttribute("missing", .integer(-1), on: ShardDatasetName.fold.path)
        try file.write(strings: cycles.map(\.device), to: ShardDatasetName.device.path)
        try file.write(strings: cycles.map(\.location), to: ShardDatasetName.location.path)
        try file.write(cycles.map(\.start), shape: [cycles.count], to: ShardDatasetName.start.path)
        try file.setAttribute("units", .string("seconds in the recording"), on: ShardDatasetName.start.path)
        try file.write(cycles.map(\.end), shape: [cycles.count], to: ShardDatasetName.end.path)
        try file.setAttribute("units", .string("seconds in the recording"), on: ShardDatasetName.end.path)
    }

    /// Reads `count` rows of a shard's `fbank` starting at `row` as float32, whatever its dtype.
    public static func readRows(of fbank: Dataset, at row: Int, count: Int = 1,
                                into buffer: UnsafeMutableBufferPointer<Float>) throws {
        if fbank.floatBits == 16 {
            let half = try fbank.read(rowsAt: row, count: count, as: Float16.self)
            half.withUnsafeBufferPointer { HalfPrecision.convert($0, into: buffer) }
        } else {
            try fbank.read(rows: buffer, at: row, count: count)
        }
    }
}
