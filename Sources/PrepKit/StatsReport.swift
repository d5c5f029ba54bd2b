import FeatureStore
import Foundation
import ICBHI
import Manifests

/// `prep stats`: what the manifests hold, for a reader (tables) or a script (`--json`, stable
/// keys, every split, class, device and location present even when zero).
///
/// Sources: `recordings.csv`, `cycles.csv` and `ingest-problems.csv` in the manifest directory
/// (the last one is absent after an ingest that predates it: `problems.recorded` is then false),
/// plus the `index.json` of each feature set in the cache.
public struct ManifestStatistics: Codable, Sendable, Equatable {
    public static let formatName = "icbhi-manifest-stats/1"

    public struct Recordings: Codable, Sendable, Equatable {
        public var total: Int
        public var bySplit: [String: Int]
        enum CodingKeys: String, CodingKey { case total, bySplit = "by_split" }
    }

    public struct Cycles: Codable, Sendable, Equatable {
        public var total: Int
        public var bySplit: [String: Int]
        public var byClass: [String: Int]
        /// split -> class -> cycles.
        public var byClassAndSplit: [String: [String: Int]]
        /// Exactly the official ICBHI 2017 counts per class in the train and test splits.
        public var matchesOfficialCounts: Bool
        enum CodingKeys: String, CodingKey {
            case total, bySplit = "by_split", byClass = "by_class", byClassAndSplit = "by_class_and_split"
            case matchesOfficialCounts = "matches_official_counts"
        }
    }

    /// Recordings and cycles of one device or one chest location.
    public struct Group: Codable, Sendable, Equatable {
        public var recordings: Int
        public var cycles: Int
        public var byClass: [String: Int]
        public var bySplit: [String: Int]
        enum CodingKeys: String, CodingKey { case recordings, cycles, byClass = "by_class", bySplit = "by_split" }
    }

    /// Stored cycle lengths in seconds (annotation end - start, clamped to the audio: the 16 kHz
    /// samples ingest kept / 16000). Percentiles interpolate linearly (numpy's default).
    public struct Lengths: Codable, Sendable, Equatable {
        public struct Bucket: Codable, Sendable, Equatable {
            public var from: Double
            /// nil (JSON null): no upper bound.
            public var to: Double?
            public var count: Int

            enum CodingKeys: String, CodingKey { case from, to, count }

            public func encode(to encoder: Encoder) throws {
                var container = encoder.container(keyedBy: CodingKeys.self)
                try container.encode(from, forKey: .from)
                try container.encode(to, forKey: .to)          // null, never a missing key
                try container.encode(count, forKey: .count)
            }
        }
        public var count: Int
        public var min: Double
        public var p5: Double
        public var p25: Double
        public var median: Double
        public var p75: Double
        public var p95: Double
        public var max: Double
        public var mean: Double
        public var under0_5s: Int
        public var over8s: Int
        public var histogram: [Bucket]
        enum CodingKeys: String, CodingKey {
            case count, min, p5, p25, median, p75, p95, max, mean, histogram
            case under0_5s = "under_0_5_s", over8s = "over_8_s"
        }
    }

    public struct ProblemItem: Codable, Sendable, Equatable {
        public var file: String
        /// nil (JSON null): the problem concerns the whole file.
        public var line: Int?
        public var reason: String

        enum CodingKeys: String, CodingKey { case file, line, reason }

        public func encode(to encoder: Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(file, forKey: .file)
            try container.encode(line, forKey: .line)          // null, never a missing key
            try container.encode(reason, forKey: .reason)
        }
    }

    /// What ingest skipped and why (from `ingest-problems.csv`).
    public struct Problems: Codable, Sendable, Equatable {
        /// Whether the manifest directory has `ingest-problems.csv` at all.
        public var recorded: Bool
        /// Whole files skipped: unparseable names, unpaired .wav/.txt, duplicates, undecodable audio.
        public var skippedFiles: [ProblemItem]
        /// Annotation lines or cycles skipped (bad lines, cycles empty after clamping).
        public var skippedCycles: [ProblemItem]
        /// Cycles that end after the audio and were clamped.
        public var clampedCycles: Int
        /// Other notices (old archive names, recordings outside the official split).
        public var notices: Int
        enum CodingKeys: String, CodingKey {
            case recorded, skippedFiles = "skipped_files", skippedCycles = "skipped_cycles"
            case clampedCycles = "clamped_cycles", notices
        }
    }

    public struct FeatureSet: Codable, Sendable, Equatable {
        public var name: String
        public var directory: String
        public var frames: Int
        public var bins: Int
        public var normalisation: String
        public var rowsBySplit: [String: Int]
        enum CodingKeys: String, CodingKey {
            case name, directory, frames, bins, normalisation, rowsBySplit = "rows_by_split"
        }
    }

    public var format = ManifestStatistics.formatName
    public var manifests: String
    public var recordings: Recordings
    public var cycles: Cycles
    public var byDevice: [String: Group]
    public var byLocation: [String: Group]
    public var cycleSeconds: Lengths?
    public var problems: Problems
    public var featureSets: [FeatureSet]

    enum CodingKeys: String, CodingKey {
        case format, manifests, recordings, cycles, byDevice = "by_device", byLocation = "by_location"
        case cycleSeconds = "cycle_seconds", problems, featureSets = "feature_sets"
    }

    /// Every key always present (`cycle_seconds` is null without cycles): scripts see stable keys.
    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(format, forKey: .format)
        try container.encode(manifests, forKey: .manifests)
        try container.encode(recordings, forKey: .recordings)
        try container.encode(cycles, forKey: .cycles)
        try container.encode(byDevice, forKey: .byDevice)
        try container.encode(byLocation, forKey: .byLocation)
        try container.encode(cycleSeconds, forKey: .cycleSeconds)
        try container.encode(problems, forKey: .problems)
        try container.encode(featureSets, forKey: .featureSets)
    }

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
        cycleSeconds = Self.lengths(cycles.map { Double($0.sampleCount) / Double(IngestPipeline.sampleRate) })
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
            switch (record.severity, record.line) {
            case ("skipped", nil): problems.skippedFiles.append(item)
            case ("skipped", _): problems.skippedCycles.append(item)
            default:
                if record.reason.contains("clamped") { problems.clampedCycles += 1 } else { problems.notices += 1 }
            }
        }
        return problems
    }

    static func featureSets(in cacheDirectory: String) -> [FeatureSet] {
        FeatureSetVerifier.featureSets(in: cacheDirectory).compactMap { directory in
            guard let index = try? FeatureSetIndex.read(directory: directory) else { return nil }
            return FeatureSet(name: index.featureSet, directory: directory, frames: index.frames, bins: index.bins,
                              normalisation: index.normalisation.kind, rowsBySplit: index.rowsBySplit)
        }
    }

    // MARK: Output

    /// Pretty-printed JSON with sorted keys (stable for scripts and diffs).
    public func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        // Every value is a plain number, string or container: encoding cannot fail.
        let data = try! encoder.encode(self)
        return String(decoding: data, as: UTF8.self)
    }

    /// The tables for a terminal.
    public func table() -> String {
        let splits = Split.allCases.filter { split in
            split != .unassigned || recordings.bySplit[split.rawValue, default: 0] + cycles.bySplit[split.rawValue, default: 0] > 0
        }.map(\.rawValue)
        let classes = CycleLabel.allCases.map(\.name)
        var lines: [String] = []
        lines.append("manifests: \(manifests) (\(recordings.total) recordings, \(cycles.total) cycles)")

        lines.append("")
        lines.append("recordings and cycles per split")
        lines.append(TextTable.render([["split", "recordings", "cycles"]]
            + splits.map { [$0, String(recordings.bySplit[$0, default: 0]), String(cycles.bySplit[$0, default: 0])] }
            + [["total", String(recordings.total), String(cycles.total)]]))

        lines.append("")
        lines.append("cycles per class and split")
        var classRows = [["class"] + splits + ["total"]]
        for name in classes {
            let counts = splits.map { cycles.byClassAndSplit[$0]?[name] ?? 0 }
            classRows.append([name] + counts.map(String.init) + [String(cycles.byClass[name, default: 0])])
        }
        classRows.append(["total"] + splits.map { String(cycles.bySplit[$0, default: 0]) } + [String(cycles.total)])
        lines.append(TextTable.render(classRows))
        lines.append(cycles.matchesOfficialCounts
                     ? "(exactly the official ICBHI 2017 counts)"
                     : "(not the official ICBHI 2017 counts of \(KnownCorpusFacts.cycles) cycles: a subset or another corpus)")

        for (title, key, groups) in [("per device", "device", byDevice), ("per chest location", "location", byLocation)] {
            lines.append("")
            lines.append(title)
            var rows = [[key, "recordings", "cycles"] + classes + splits]
            for name in groups.keys.sorted() {
                let group = groups[name]!
                rows.append([name, String(group.recordings), String(group.cycles)]
                            + classes.map { String(group.byClass[$0, default: 0]) }
                            + splits.map { String(group.bySplit[$0, default: 0]) })
            }
            lines.append(TextTable.render(rows))
        }

        lines.append("")
        if let lengths = cycleSeconds {
            lines.append("cycle length, s (stored 16 kHz cycle: annotation end - start, clamped to the audio)")
            lines.append(TextTable.render([
                ["min", "p5", "p25", "median", "p75", "p95", "max", "mean", "< 0.5 s", "> 8 s"],
                [lengths.min, lengths.p5, lengths.p25, lengths.median, lengths.p75, lengths.p95, lengths.max, lengths.mean]
                    .map { String(format: "%.2f", $0) } + [String(lengths.under0_5s), String(lengths.over8s)],
            ]))
            let widest = max(1, lengths.histogram.map(\.count).max() ?? 1)
            let rows = lengths.histogram.map { bucket in
                [bucket.to.map { "\(Self.format(bucket.from))-\(Self.format($0)) s" } ?? ">= \(Self.format(bucket.from)) s",
                 String(bucket.count)]
            }
            // Bars after the right-aligned counts, left-aligned, 40 characters for the fullest bucket.
            for (line, bucket) in zip(TextTable.render(rows).split(separator: "\n"), lengths.histogram) {
                let bar = String(repeating: "#", count: Int((Double(bucket.count) / Double(widest) * 40).rounded(.up)))
                lines.append(bar.isEmpty ? "  " + line : "  " + line + "  " + bar)
            }
        } else {
            lines.append("cycle length: no cycles")
        }

        lines.append("")
        if problems.recorded {
            lines.append("skipped by ingest: \(problems.skippedFiles.count) file(s), \(problems.skippedCycles.count) cycle(s) or line(s); "
                         + "\(problems.clampedCycles) cycle(s) clamped to the audio; \(problems.notices) other notice(s)")
            for item in problems.skippedFiles { lines.append("  file: \(item.file): \(item.reason)") }
            for item in problems.skippedCycles { lines.append("  cycle: \(item.file)\(item.line.map { ":\($0)" } ?? ""): \(item.reason)") }
        } else {
            lines.append("skipped by ingest: not recorded (no \(manifests)/ingest-problems.csv; rerun `prep ingest` to record it)")
        }

        if !featureSets.isEmpty {
            lines.append("")
            lines.append("feature sets")
            lines.append(TextTable.render([["name", "frames x bins", "normalisation"] + splits]
                + featureSets.map { set in
                    [set.name, "\(set.frames) x \(set.bins)", set.normalisation] + splits.map { String(set.rowsBySplit[$0, default: 0]) }
                }))
        }
        return lines.joined(separator: "\n")
    }

    private static func format(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(value)
    }
}
