import AudioDSP
import Durability
import FeatureStore
import Foundation
import Manifests

/// `prep stats` on an SPRSound ingest: recordings, record labels and events per split, event
/// lengths, what ingest skipped or noted, and the cache's feature sets.
public struct SPRSoundStatistics: Encodable, Sendable {
    public static let formatName = "sprsound-manifest-stats/1"

    public var format = Self.formatName
    public var manifests: String
    public var recordingsBySplit: [String: Int]
    /// split -> record label ("" where the file has none) -> recordings.
    public var recordLabels: [String: [String: Int]]
    /// split -> event type -> events.
    public var events: [String: [String: Int]]
    public var eventSeconds: [String: Double]
    /// problem kind -> count.
    public var problems: [String: Int]
    public var featureSets: [String]
    let tables: String

    enum CodingKeys: String, CodingKey {
        case format, manifests, recordingsBySplit = "recordings_by_split", recordLabels = "record_labels", events
        case eventSeconds = "event_seconds", problems, featureSets = "feature_sets"
    }

    /// `prep stats`'s manifest directory: the one given, else the one the cache's last ingest wrote, else `manifests`.
    public static func manifestDirectory(given: String?, cacheDirectory: String) -> String {
        given ?? (try? IngestState.read(cacheDirectory: cacheDirectory))?.manifestDirectory ?? "manifests"
    }

    /// Whether `directory` holds an SPRSound ingest's manifests.
    public static func applies(to directory: String) -> Bool {
        FileManager.default.fileExists(atPath: SPRSoundManifest(directory: directory).eventsPath)
    }

    public static func compute(manifestDirectory: String, cacheDirectory: String?) throws -> SPRSoundStatistics {
        let manifest = SPRSoundManifest(directory: manifestDirectory)
        let recordings: [SPRSoundRecordingRow], events: [SPRSoundEventRow]
        do {
            recordings = try manifest.readRecordings()
            events = try manifest.readEvents()
        } catch {
            throw PrepError.input("\(error)")
        }
        var bySplit: [String: Int] = [:], labels: [String: [String: Int]] = [:], types: [String: [String: Int]] = [:]
        for recording in recordings {
            bySplit[recording.split, default: 0] += 1
            labels[recording.split, default: [:]][recording.recordLabel ?? "", default: 0] += 1
        }
        for event in events { types[event.split, default: [:]][event.type, default: 0] += 1 }
        let lengths = ManifestStatistics.lengths(events.map { Double($0.sliceEnd - $0.sliceBegin) / Double(ReferenceAudio.sampleRate) })
        var problems: [String: Int] = [:]
        let store = ManifestStore(directory: manifestDirectory)
        if FileManager.default.fileExists(atPath: store.problemsPath) {
            for problem in (try? store.readProblems()) ?? [] { problems[problem.kind ?? problem.severity, default: 0] += 1 }
        }
        let featureSets = cacheDirectory.map { FeatureSetLocation.featureSets(in: $0).map { ($0 as NSString).lastPathComponent } } ?? []
        return SPRSoundStatistics(
            manifests: manifestDirectory, recordingsBySplit: bySplit, recordLabels: labels, events: types,
            eventSeconds: ["min": lengths?.min ?? 0, "median": lengths?.median ?? 0, "p95": lengths?.p95 ?? 0, "max": lengths?.max ?? 0,
                           "mean": lengths?.mean ?? 0],
            problems: problems, featureSets: featureSets,
            tables: SPRSoundTables.tables(recordings: recordings, events: events))
    }

    public func table() -> String {
        var lines = ["SPRSound manifests: \(manifests) (\(recordingsBySplit.values.reduce(0, +)) recordings, \(events.values.flatMap(\.values).reduce(0, +)) events)", "", tables, ""]
        lines.append("event length (s): " + ["min", "median", "mean", "p95", "max"].map { "\($0) \(String(format: "%.3f", eventSeconds[$0] ?? 0))" }.joined(separator: ", "))
        lines.append("ingest problems: " + (problems.isEmpty ? "none" : problems.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")))
        lines.append("feature sets: " + (featureSets.isEmpty ? "none" : featureSets.joined(separator: ", ")))
        return lines.joined(separator: "\n")
    }

    public func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return (try? encoder.encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }
}
