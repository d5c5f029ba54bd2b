import Durability
import FeatureStore
import Foundation
import Manifests
import SPRSound

/// One row of SPRSound's `recordings.csv`: a recording, its record label and its inputs.
struct SPRSoundRecordingRow: Sendable, Equatable {
    var stem: String
    var json: String
    var wav: String
    var release: String
    var split: String
    /// nil where the file has none (2024+ files, or an unusable label).
    var recordLabel: String?
    var events: Int
    var sourceRate: Int
    var bitDepth: Int
    var channels: Int
    var frames: Int
    var frames16k: Int
    var jsonSHA256: String
    var wavSHA256: String
    var wavBytes: Int
    var wavModified: Double

    static let header = [
        "stem", "patient", "age", "gender", "location", "recording_number", "release", "split", "record_label", "events",
        "source_rate", "bit_depth", "channels", "frames", "duration_s", "frames_16k", "json", "wav", "json_sha256",
        "wav_sha256", "wav_bytes", "wav_mtime",
    ]

    func fields(_ name: SPRSoundName) -> [String] {
        [stem, name.patientField, String(name.age), String(name.gender), name.location, name.recording, release, split,
         recordLabel ?? "", String(events), String(sourceRate), String(bitDepth), String(channels), String(frames),
         String(Double(frames) / Double(sourceRate)), String(frames16k), json, wav, jsonSHA256, wavSHA256,
         String(wavBytes), String(wavModified)]
    }

    /// The cycle-audio provenance this row implies (the JSON's hash in the `txt_sha256` slot).
    func provenance(resampler: String) -> CycleAudioStore.Provenance {
        .init(resampler: resampler, wavSHA256: wavSHA256, txtSHA256: jsonSHA256, cycles: events + 1)
    }
}

/// One row of SPRSound's `events.csv`: an annotated event as ingest kept it.
struct SPRSoundEventRow: Sendable, Equatable {
    var recording: String
    /// Position among the recording's kept events, in time order.
    var k: Int
    var type: String
    var start: Double
    var end: Double
    var release: String
    var split: String
    var sliceBegin: Int
    var sliceEnd: Int

    var id: String { "\(recording)#\(k)" }

    static let header = [
        "event_id", "recording", "k", "type", "start", "end", "patient", "age", "gender", "location", "release", "split",
        "slice_begin", "slice_end", "samples_16k",
    ]

    func fields(_ name: SPRSoundName) -> [String] {
        [id, recording, String(k), type, String(start), String(end), name.patientField, String(name.age),
         String(name.gender), name.location, release, split, String(sliceBegin), String(sliceEnd), String(sliceEnd - sliceBegin)]
    }
}

/// SPRSound's manifests: `recordings.csv` (one row per recording, with its record label) and
/// `events.csv` (one row per event), CSV with a header row like ICBHI's.
struct SPRSoundManifest {
    let directory: String
    var recordingsPath: String { directory + "/recordings.csv" }
    var eventsPath: String { directory + "/events.csv" }

    static func encode(recordings: [SPRSoundRecordingRow], events: [SPRSoundEventRow]) throws -> (recordings: String, events: String) {
        func name(_ stem: String) throws -> SPRSoundName {
            do { return try SPRSoundName(parsing: stem) } catch { throw PrepError.input("recording \(stem): \(error)") }
        }
        var names: [String: SPRSoundName] = [:]
        for row in recordings { names[row.stem] = try name(row.stem) }
        return (CSVTable(header: SPRSoundRecordingRow.header, rows: try recordings.map { $0.fields(try names[$0.stem] ?? name($0.stem)) }).encoded(),
                CSVTable(header: SPRSoundEventRow.header, rows: try events.map { $0.fields(try names[$0.recording] ?? name($0.recording)) }).encoded())
    }

    func readRecordings() throws -> [SPRSoundRecordingRow] {
        let path = recordingsPath
        let table = try CSVTable(parsing: Self.text(at: path), path: path)
        func col(_ name: String) throws -> Int { try table.column(name, path: path) }
        let c = try (stem: col("stem"), release: col("release"), split: col("split"), label: col("record_label"),
                     events: col("events"), rate: col("source_rate"), bits: col("bit_depth"), channels: col("channels"),
                     frames: col("frames"), frames16k: col("frames_16k"), json: col("json"), wav: col("wav"),
                     jsonSHA: col("json_sha256"), wavSHA: col("wav_sha256"), bytes: col("wav_bytes"), mtime: col("wav_mtime"))
        return try table.rows.enumerated().map { offset, row in
            guard let events = Int(row[c.events]), let rate = Int(row[c.rate]), let bits = Int(row[c.bits]),
                  let channels = Int(row[c.channels]), let frames = Int(row[c.frames]), let frames16k = Int(row[c.frames16k]),
                  let bytes = Int(row[c.bytes]), let mtime = Double(row[c.mtime]), rate > 0 else {
                throw StoreError.malformed(path: path, line: offset + 2, reason: "bad number")
            }
            return SPRSoundRecordingRow(stem: row[c.stem], json: row[c.json], wav: row[c.wav], release: row[c.release],
                                        split: row[c.split], recordLabel: row[c.label].isEmpty ? nil : row[c.label],
                                        events: events, sourceRate: rate, bitDepth: bits, channels: channels, frames: frames,
                                        frames16k: frames16k, jsonSHA256: row[c.jsonSHA], wavSHA256: row[c.wavSHA],
                                        wavBytes: bytes, wavModified: mtime)
        }
    }

    func readEvents() throws -> [SPRSoundEventRow] {
        let path = eventsPath
        let table = try CSVTable(parsing: Self.text(at: path), path: path)
        func col(_ name: String) throws -> Int { try table.column(name, path: path) }
        let c = try (recording: col("recording"), k: col("k"), type: col("type"), start: col("start"), end: col("end"),
                     release: col("release"), split: col("split"), begin: col("slice_begin"), sliceEnd: col("slice_end"))
        return try table.rows.enumerated().map { offset, row in
            guard let k = Int(row[c.k]), let start = Double(row[c.start]), let end = Double(row[c.end]),
                  let begin = Int(row[c.begin]), let sliceEnd = Int(row[c.sliceEnd]) else {
                throw StoreError.malformed(path: path, line: offset + 2, reason: "bad number")
            }
            return SPRSoundEventRow(recording: row[c.recording], k: k, type: row[c.type], start: start, end: end,
                                    release: row[c.release], split: row[c.split], sliceBegin: begin, sliceEnd: sliceEnd)
        }
    }

    static func text(at path: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw StoreError.io(path: path, reason: "cannot read (run `prep ingest --corpus sprsound` first)")
        }
        return String(decoding: data, as: UTF8.self)
    }
}
