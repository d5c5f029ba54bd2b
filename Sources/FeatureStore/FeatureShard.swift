import Foundation
import HDF5
import ICBHI

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

/// Feature rows converted to the shard's dtype on a worker thread: the exact bytes the file stores.
public enum EncodedRows: Sendable {
    case float32([Float])
    case float16([Float16])

    public init(_ values: [Float], as dtype: FeatureDType) {
        switch dtype {
        case .float32:
            self = .float32(values)
        case .float16:
            let half = [Float16](unsafeUninitializedCapacity: values.count) { buffer, initialized in
                values.withUnsafeBufferPointer { HalfPrecision.convert($0, into: buffer) }
                initialized = values.count
            }
            self = .float16(half)
        }
    }
}

/// One feature shard: `fbank` [rows, frames, bins] in float32 or float16 plus one dataset per
/// cycle attribute. `fbank` is contiguous (row r at one offset: a reader fetches a cycle with one
/// read, and the writer hands whole rows to the kernel without a chunk cache's copy); with
/// `--compress` it is chunked one row per chunk, shuffled and deflated.
public enum FeatureShard {
    /// Per-row metadata, in the order the rows are stored.
    public struct Rows: Sendable {
        public var cycles: [CycleRecord]
        public init(cycles: [CycleRecord]) { self.cycles = cycles }
    }

    /// Writes encoded `fbank` rows: whole rows go straight from the caller's buffer to the file.
    public struct RowWriter {
        public let dataset: Dataset
        public let dtype: FeatureDType

        /// Writes `count` rows starting at `row`.
        public func write(_ rows: EncodedRows, at row: Int, count: Int) throws {
            switch (rows, dtype) {
            case (.float32(let values), .float32):
                try values.withUnsafeBufferPointer { try dataset.write(rows: $0, at: row, count: count) }
            case (.float16(let values), .float16):
                try values.withUnsafeBufferPointer { try dataset.write(rows: $0, at: row, count: count) }
            default:
                preconditionFailure("rows encoded for another dtype than the shard's \(dtype)")
            }
        }
    }

    /// Writes a shard's temp file (`fill` writes `fbank` row by row) and returns its path, not yet
    /// synced: publish it with a `DurablePublisher`. The file holds no wall-clock time: same inputs, same bytes.
    public static func stage(
        path: String, rows: Rows, frames: Int, bins: Int, dtype: FeatureDType = .float32, deflateLevel: Int,
        attributes: [(String, AttributeValue)], fill: (RowWriter) throws -> Void
    ) throws -> String {
        try AtomicFile.stage(path, sync: false) { temporary in
            let file = try HDF5File(path: temporary, mode: .create)
            for (name, value) in attributes { try file.setAttribute(name, value) }
            let cycles = rows.cycles
            let layout = DatasetOptions(chunks: deflateLevel > 0 ? [1, frames, bins] : nil, deflateLevel: deflateLevel)
            let shape = [cycles.count, frames, bins]
            let fbank = switch dtype {
            case .float32: try file.createDataset("/fbank", of: Float.self, shape: shape, options: layout)
            case .float16: try file.createDataset("/fbank", of: Float16.self, shape: shape, options: layout)
            }
            try file.setAttribute("description", .string("log mel filterbank per cycle: [row, frame, mel bin]"), on: "/fbank")
            try file.setAttribute("axes", .string("row, frame (10 ms), mel bin (low to high)"), on: "/fbank")
            try fill(RowWriter(dataset: fbank, dtype: dtype))
            try file.write(strings: cycles.map(\.id), to: "/cycle_id")
            try file.write(strings: cycles.map(\.recording.name), to: "/recording")
            try file.write(cycles.map { Int32($0.recording.patient) }, shape: [cycles.count], to: "/patient")
            try file.write(cycles.map { Int8($0.label.rawValue) }, shape: [cycles.count], to: "/label")
            try file.setAttribute("classes", .string("0 normal, 1 crackle, 2 wheeze, 3 both"), on: "/label")
            try file.write(cycles.map { Int8($0.label.binary) }, shape: [cycles.count], to: "/label2")
            try file.setAttribute("classes", .string("0 normal, 1 abnormal"), on: "/label2")
            try file.write(cycles.map { Int8($0.crackle ? 1 : 0) }, shape: [cycles.count], to: "/crackle")
            try file.write(cycles.map { Int8($0.wheeze ? 1 : 0) }, shape: [cycles.count], to: "/wheeze")
            try file.write(strings: cycles.map(\.split.rawValue), to: "/split")
            try file.write(cycles.map { Int8($0.fold ?? -1) }, shape: [cycles.count], to: "/fold")
            try file.setAttribute("missing", .integer(-1), on: "/fold")
            try file.write(strings: cycles.map(\.recording.device.rawValue), to: "/device")
            try file.write(strings: cycles.map(\.recording.location.rawValue), to: "/location")
            try file.write(cycles.map(\.start), shape: [cycles.count], to: "/start")
            try file.setAttribute("units", .string("seconds in the recording"), on: "/start")
            try file.write(cycles.map(\.end), shape: [cycles.count], to: "/end")
            try file.setAttribute("units", .string("seconds in the recording"), on: "/end")
            try file.flush()
        }
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
