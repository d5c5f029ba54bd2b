import AudioDSP
import FeatureStore
import Foundation
import ICBHI
import Manifests

// `prep stats`, the computation: reading the manifests and tallying them into a `ManifestStatistics`.
extension ManifestStatistics {
    /// Reads the manifests (and the cache's feature set indexes) and tallies them. Without a
    /// manifest directory: the one the cache's last ingest wrote (`ingest.json`), else `manifests`.
    public static func compute(manifestDirectory: String?, cacheDirectory: String?) throws -> ManifestStatistics {
        let manifestDirectory = manifestDirectory
            ?? cacheDirectory.flatMap { try? IngestState.read(cacheDirectory: $0).manifestDirectory }
            ?? "manifests"
        let store = ManifestStore(directory: manifestDirectory)
        let recordings: [RecordingRecord], cycles: [CycleRecord]
        do {
            recordings = try store.readRecordings()
            cycles = try store.readCycles()
        } catch {
            throw PrepError.input("\(error)")
        }
        var problems: [ProblemRecord]?
        if FileManager.default.fileExists(atPath: store.problemsPath) {
            do { problems = try store.readProblems() } catch { throw PrepError.input("\(error)") }
        }
        let featureSets = cacheDirectory.map(Self.featureSets(in:)) ?? []
        return ManifestStatistics(manifests: manifestDirectory, recordings: recordings, cycles: cycles,
                                  problems: problems, featureSets: featureSets)
    }

    /// Tallies already-read manifests.
    public init(manifests: String, recordings: [RecordingRecord], cycles: [CycleRecord], problems: [ProblemRecord]?,
                featureSets: [FeatureSet] = []) {
        func zeros<T: RawRepresentable>(_ cases: [T]) -> [String: Int] where T.RawValue == String {
            Dictionary(uniqueKeysWithValues: cases.map { ($0.rawValue, 0) })
        }
        let classZeros = Dictionary(uniqueKeysWithValues: CycleLabel.allCases.map { ($0.name, 0) })
        let splitZeros = zeros(Split.allCases)
        let emptyGroup = Group(recordings: 0, cycles: 0, byClass: classZeros, bySplit: splitZeros)

        self.manifests = manifests
        var recordingsBySplit = splitZeros
        var byDevice = Dictionary(uniqueKeysWithValues: Device.allCases.map { ($0.rawValue, emptyGroup) })
        var byLocation = Dictionary(uniqueKeysWithValues: ChestLocation.allCases.map { ($0.rawValue, emptyGroup) })
        for recording in recordings {
            recordingsBySplit[recording.split.rawValue, default: 0] += 1
            byDevice[recording.stem.device.rawValue, default: emptyGroup].recordings += 1
            byLocation[recording.stem.location.rawValue, default: emptyGroup].recordings += 1
        }
        self.recordings = Recordings(total: recordings.count, bySplit: recordingsBySplit)

        var census = CycleCensus()
        var cyclesBySplit = splitZeros, byClass = classZeros
        var byClassAndSplit = Dictionary(uniqueKeysWithValues: Split.allCases.map { ($0.rawValue, classZeros) })
        for cycle in cycles {
            census.add(cycle.label, in: cycle.split)
            cyclesBySplit[cycle.split.rawValue, default: 0] += 1
            byClass[cycle.label.name, default: 0] += 1
            byClassAndSplit[cycle.split.rawValue, default: classZeros][cycle.label.name, default: 0] += 1
            func count(_ group: inout Group) {
                group.cycles += 1
                group.byClass[cycle.label.name, default: 0] += 1
                group.bySplit[cycle.split.rawValue, default: 0] += 1
            }
            count(&byDevice[cycle.recording.device.rawValue, default: emptyGroup])
            count(&byLocation[cycle.recording.location.rawValue, default: emptyGroup])
        }
        self.cycles = Cycles(total: cycles.count, bySplit: cyclesBySplit, byClass: byClass, byClassAndSplit: byClassAndSplit,
                             matchesOfficialCounts: census.matchesKnownCorpus)
        self.byDevice = byDevice
        self.byLocation = byLocation
        cycleSeconds = Self.lengths(cycles.map { Double($0.sampleCount) / Double(ReferenceAudio.sampleRate) })
        self.problems = Self.classify(problems)
        self.featureSets = featureSets
    }

    static func lengths(_ seconds: [Double]) -> Lengths? {
        guard !seconds.isEmpty else { return nil }
        let sorted = seconds.sorted()
        func percentile(_ p: Double) -> Double {
            let position = p / 100 * Double(sorted.count - 1)
            let low = Int(position.rounded(.down)), high = Swift.min(low + 1, sorted.count - 1)
            return sorted[low] + (sorted[high] - sorted[low]) * (position - Double(low))
        }
        let edges: [Double] = [0, 0.5, 1, 2, 3, 4, 5, 6, 8]
        var histogram = edges.indices.map { index in
            Lengths.Bucket(from: edges[index], to: index + 1 < edges.count ? edges[index + 1] : nil, count: 0)
        }
        for value in sorted {
            let bucket = edges.lastIndex { $0 <= value } ?? 0
            histogram[bucket].count += 1
        }
        return Lengths(count: sorted.count, min: sorted[0], p5: percentile(5), p25: percentile(25), median: percentile(50),
                       p75: percentile(75), p95: percentile(95), max: sorted[sorted.count - 1],
                       mean: sorted.reduce(0, +) / Double(sorted.count),
                       under0_5s: sorted.filter { $0 < 0.5 }.count, over8s: sorted.filter { $0 > 8 }.count,
                       histogram: histogram)
    }

    static func classify(_ records: [ProblemRecord]?) -> Problems {
        var problems = Problems(recorded: records != nil, skippedFiles: [], skippedCycles: [], clampedCycles: 0, notices: 0)
        for record in records ?? [] {
            let item = ProblemItem(file: record.file, line: record.line, reason: record.reason)
            switch kind(of: record) {
            case .skippedFile: problems.skippedFiles.append(item)
            case .skippedCycle: problems.skippedCycles.append(item)
            case .clampedCycle: problems.clampedCycles += 1
            case .notice: problems.notices += 1
            }
        }
        return problems
    }

    /// The row's `kind`. A row without one (a file written before the column existed) is
    /// classified as its writer did: by severity and line, and a notice that ends in
    /// ": clamped" (that writer's fixed wording) is a clamped cycle.
    static func kind(of record: ProblemRecord) -> Problem.Kind {
        if let kind = record.kind.flatMap(Problem.Kind.init(rawValue:)) { return kind }
        switch (record.severity, record.line) {
        case ("skipped", nil): return .skippedFile
        case ("skipped", _): return .skippedCycle
        default: return record.kind == nil && record.reason.hasSuffix(": clamped") ? .clampedCycle : .notice
        }
    }

    static func featureSets(in cacheDirectory: String) -> [FeatureSet] {
        FeatureSetVerifier.featureSets(in: cacheDirectory).compactMap { directory in
            guard let index = try? FeatureSetIndex.read(directory: directory) else { return nil }
            return FeatureSet(name: index.featureSet, directory: directory, frames: index.frames, bins: index.bins,
                              normalisation: index.normalisation.kind, rowsBySplit: index.rowsBySplit)
        }
    }
}
