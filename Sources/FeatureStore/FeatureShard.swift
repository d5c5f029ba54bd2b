import Foundation
import HDF5
import ICBHI

/// One feature shard: `fbank` float32 [rows, frames, bins] (one row per chunk, so a reader
/// fetches a cycle with one chunk read) plus one dataset per cycle attribute.
public enum FeatureShard {
    /// Per-row metadata, in the order the rows are stored.
    public struct Rows: Sendable {
        public var cycles: [CycleRecord]
        public init(cycles: [CycleRecord]) { self.cycles = cycles }
    }

    /// Writes a shard's temp file (`body` fills `fbank` row by row) and returns its path, not yet
    /// synced: publish it with a `DurablePublisher`. The file holds no wall-clock time: same inputs, same bytes.
    public static func stage(
        path: String, rows: Rows, frames: Int, bins: Int, deflateLevel: Int, attributes: [(String, AttributeValue)],
        fill: (Dataset) throws -> Void
    ) throws -> String {
        try AtomicFile.stage(path, sync: false) { temporary in
            let file = try HDF5File(path: temporary, mode: .create)
            for (name, value) in attributes { try file.setAttribute(name, value) }
            let cycles = rows.cycles
            let fbank = try file.createDataset("/fbank", of: Float.self, shape: [cycles.count, frames, bins],
                                               options: .init(chunks: [1, frames, bins], deflateLevel: deflateLevel))
            try file.setAttribute("description", .string("log mel filterbank per cycle: [row, frame, mel bin]"), on: "/fbank")
            try file.setAttribute("axes", .string("row, frame (10 ms), mel bin (low to high)"), on: "/fbank")
            try fill(fbank)
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
}
