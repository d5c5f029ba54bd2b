import Foundation

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
}
