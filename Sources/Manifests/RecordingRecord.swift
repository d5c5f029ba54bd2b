import Durability
import ICBHI

/// One row of `recordings.csv`: what ingest learned about a recording and its inputs.
/// The size/mtime columns let a rerun skip unchanged recordings without re-hashing audio.
public struct RecordingRecord: Sendable, Equatable {
    public var stem: RecordingStem
    public var sourceStem: String          // name on disk (an old archive name when renamed)
    public var sourceRate: Int
    public var bitDepth: Int
    public var channels: Int
    public var frames: Int                 // at the source rate
    public var frames16k: Int
    public var split: Split
    public var fold: Int?
    public var cycles: Int                 // cycles stored (valid, non-empty after clamping)
    public var wavSHA256: String
    public var txtSHA256: String
    public var wavBytes: Int
    public var wavModified: Double         // seconds since 1970, as stat reports

    public init(stem: RecordingStem, sourceStem: String, sourceRate: Int, bitDepth: Int, channels: Int, frames: Int,
                frames16k: Int, split: Split, fold: Int?, cycles: Int, wavSHA256: String, txtSHA256: String,
                wavBytes: Int, wavModified: Double) {
        self.stem = stem
        self.sourceStem = sourceStem
        self.sourceRate = sourceRate
        self.bitDepth = bitDepth
        self.channels = channels
        self.frames = frames
        self.frames16k = frames16k
        self.split = split
        self.fold = fold
        self.cycles = cycles
        self.wavSHA256 = wavSHA256
        self.txtSHA256 = txtSHA256
        self.wavBytes = wavBytes
        self.wavModified = wavModified
    }

    public var duration: Double { Double(frames) / Double(sourceRate) }

    public static let header = [
        "stem", "source_stem", "patient", "recording_index", "location", "mode", "device", "source_rate", "bit_depth",
        "channels", "frames", "duration_s", "frames_16k", "split", "fold", "cycles", "wav_sha256", "txt_sha256",
        "wav_bytes", "wav_mtime",
    ]

    public var fields: [String] {
        [
            stem.name, sourceStem, String(stem.patient), stem.recordingIndex, stem.location.rawValue, stem.mode.rawValue,
            stem.device.rawValue, String(sourceRate), String(bitDepth), String(channels), String(frames),
            String(duration), String(frames16k), split.rawValue, fold.map(String.init) ?? "", String(cycles),
            wavSHA256, txtSHA256, String(wavBytes), String(wavModified),
        ]
    }

    /// Reads `recordings.csv`.
    public static func read(table: CSVTable, path: String) throws -> [RecordingRecord] {
        func col(_ name: String) throws -> Int { try table.column(name, path: path) }
        let c = try (stem: col("stem"), source: col("source_stem"), rate: col("source_rate"), bits: col("bit_depth"),
                     channels: col("channels"), frames: col("frames"), frames16k: col("frames_16k"), split: col("split"),
                     fold: col("fold"), cycles: col("cycles"), wav: col("wav_sha256"), txt: col("txt_sha256"),
                     bytes: col("wav_bytes"), mtime: col("wav_mtime"))
        return try table.rows.enumerated().map { offset, row in
            func bad(_ what: String) -> StoreError { .malformed(path: path, line: offset + 2, reason: "bad \(what)") }
            guard let stem = try? RecordingStem(parsing: row[c.stem]) else { throw bad("stem") }
            guard let rate = Int(row[c.rate]), let bits = Int(row[c.bits]), let channels = Int(row[c.channels]),
                  let frames = Int(row[c.frames]), let frames16k = Int(row[c.frames16k]),
                  let cycles = Int(row[c.cycles]), let bytes = Int(row[c.bytes]), let mtime = Double(row[c.mtime])
            else { throw bad("number") }
            guard let split = Split(rawValue: row[c.split]) else { throw bad("split") }
            return RecordingRecord(stem: stem, sourceStem: row[c.source], sourceRate: rate, bitDepth: bits,
                                   channels: channels, frames: frames, frames16k: frames16k, split: split,
                                   fold: Int(row[c.fold]), cycles: cycles, wavSHA256: row[c.wav], txtSHA256: row[c.txt],
                                   wavBytes: bytes, wavModified: mtime)
        }
    }
}
