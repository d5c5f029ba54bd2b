import Durability
import FeatureStore
import Foundation
import Manifests
import SPRSound

/// The SPRSound recipe's feature side: events.csv and recordings.csv rows as feature items, in
/// the agreed format (spec/sprsound-shards.md): per recording its events (level `event`, tasks
/// 1-1 and 1-2) then the whole recording (level `record`, tasks 2-1 and 2-2, -1 without a label).
public enum SPRSoundRecipe {
    /// Shard order; later years (`test2026`, ...) and others follow by name.
    static let splitOrder = ["train", "inter_test", "intra_test", "test2022", "test2023", "test2024", "test2025", SPRSoundSplit.unassigned]

    /// SPRSound's tasks as a feature set's index records them (`SPRSoundLabels.tasks`).
    public static let tasks = SPRSoundLabels.tasks.map { FeatureSetIndex.LabelTask(name: $0.name, level: $0.level.rawValue, classes: $0.classes) }

    /// `prep verify`'s ingest check: both manifests have the digests ingest.json records, every
    /// recording's cycle audio has the provenance recordings.csv implies (its events + the record
    /// item), entries matching events.csv, and its samples' recorded checksum.
    static func verifyIngest(state: IngestState, cacheDirectory: String) -> (findings: [FeatureSetVerifier.Finding], recordings: Int, cycles: Int, uncheckedAudio: Int) {
        typealias Finding = FeatureSetVerifier.Finding
        let manifest = SPRSoundManifest(directory: state.manifestDirectory)
        var findings: [Finding] = []
        for (path, recorded) in [(manifest.eventsPath, state.cyclesSHA256), (manifest.recordingsPath, state.recordingsSHA256 ?? "")] {
            guard let digest = try? FileDigest.sha256(ofFileAt: path) else { return ([Finding(file: path, problem: "missing or unreadable")], 0, 0, 0) }
            if digest != recorded {
                findings.append(Finding(file: path, problem: "SHA-256 \(digest) differs from ingest.json's (\(recorded)): corrupted or edited since `prep ingest`"))
            }
        }
        let recordings: [SPRSoundRecordingRow], events: [SPRSoundEventRow]
        do {
            recordings = try manifest.readRecordings()
            events = try manifest.readEvents()
        } catch {
            return (findings + [FeatureSetVerifier.finding(error, about: manifest.directory)], 0, 0, 0)
        }
        var eventsByRecording = Dictionary(grouping: events, by: \.recording)
        let audio = CycleAudioStore(cacheDirectory: cacheDirectory, resampler: state.resampler)
        var unchecked = 0
        for recording in recordings {
            let stem = recording.stem
            let own = eventsByRecording.removeValue(forKey: stem) ?? []
            if own.count != recording.events {
                findings.append(Finding(file: manifest.recordingsPath, problem: "\(stem): \(recording.events) events, \(manifest.eventsPath) has \(own.count)"))
            }
            guard audio.holdsAudio(of: recording, resampler: state.resampler) else {
                findings.append(Finding(file: audio.path(for: stem), problem: "missing, unreadable, or not the audio the manifests describe"))
                continue
            }
            let unrecorded = FeatureSetVerifier.checkCycleAudio(of: stem, in: audio, findings: &findings) { entries in
                let listed = own.map(\.k)
                return entries == listed + [SPRSoundIngest.recordEntry] ? nil : "entries \(entries), the manifests say events \(listed) and the record item"
            }
            if unrecorded { unchecked += 1 }
        }
        for stem in eventsByRecording.keys.sorted() {
            findings.append(Finding(file: manifest.eventsPath, problem: "events of \(stem), which \(manifest.recordingsPath) does not list"))
        }
        return (findings, recordings.count, events.count + recordings.count, unchecked)
    }

    static func featureSource(ingest: IngestState, audio: CycleAudioStore, jobs: Int) throws -> FeatureSource {
        let manifest = SPRSoundManifest(directory: ingest.manifestDirectory)
        guard (try? FileDigest.sha256(ofFileAt: manifest.eventsPath)) == ingest.cyclesSHA256,
              (try? FileDigest.sha256(ofFileAt: manifest.recordingsPath)) == ingest.recordingsSHA256 else {
            throw PrepError.input("\(manifest.eventsPath) or \(manifest.recordingsPath) changed since the last `prep ingest` (or is missing): rerun ingest")
        }
        let recordings = try manifest.readRecordings(), events = try manifest.readEvents()
        if let stale = recordings.first(where: { !audio.holdsAudio(of: $0, resampler: ingest.resampler) }) {
            throw PrepError.input("\(audio.path(for: stale.stem)) is not the cycle audio \(manifest.recordingsPath) describes (an interrupted `prep ingest`?): rerun `prep ingest`")
        }
        let eventsByRecording = Dictionary(grouping: events, by: \.recording)
        var items: [FeatureItem] = []
        items.reserveCapacity(events.count + recordings.count)
        for recording in recordings {
            let name: SPRSoundName
            do { name = try SPRSoundName(parsing: recording.stem) } catch {
                throw PrepError.input("\(manifest.recordingsPath): recording \(error)")
            }
            func makeRow(id: String, start: Double, end: Double, level: String, labels: [Int]) -> ShardRow {
                var row = ShardRow(id: id, recording: recording.stem, patient: name.patient, label: -1, binaryLabel: -1,
                                   crackle: false, wheeze: false, split: recording.split, fold: nil, device: "",
                                   location: name.location, start: start, end: end)
                row.tasks = TaskColumns(level: level, labels: labels, age: name.age, gender: name.gender)
                return row
            }
            for event in eventsByRecording[recording.stem] ?? [] {
                items.append(FeatureItem(row: makeRow(id: event.id, start: event.start, end: event.end, level: "event",
                                                  labels: SPRSoundLabels.eventLabels(type: event.type)),
                                         index: event.k, sampleCount: event.sliceEnd - event.sliceBegin))
            }
            let duration = Double(recording.frames) / Double(recording.sourceRate)
            items.append(FeatureItem(row: makeRow(id: recording.stem + "#record", start: 0, end: duration, level: "record",
                                              labels: SPRSoundLabels.recordLabels(label: recording.recordLabel)),
                                     index: SPRSoundIngest.recordEntry, sampleCount: recording.frames16k))
        }
        return FeatureSource(items: items, manifestPath: manifest.eventsPath)
    }
}
