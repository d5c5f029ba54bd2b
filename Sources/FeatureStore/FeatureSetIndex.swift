import Durability
import Foundation

/// `index.json` beside a feature set's shards: what each shard holds and its checksum. Training
/// and `prep verify` trust a feature set only through it; it is written last, atomically.
public struct FeatureSetIndex: Codable, Sendable, Equatable {
    public struct Shard: Codable, Sendable, Equatable {
        public var file: String
        public var split: String
        public var rows: Int
        public var bytes: Int
        public var sha256: String

        public init(file: String, split: String, rows: Int, bytes: Int, sha256: String) {
            self.file = file
            self.split = split
            self.rows = rows
            self.bytes = bytes
            self.sha256 = sha256
        }
    }

    public struct Normalisation: Codable, Sendable, Equatable {
        public var kind: String
        public var mean: Double
        public var std: Double
        /// Stored value = (fbank - mean) / (scale * std).
        public var scale: Double

        public init(kind: String, mean: Double, std: Double, scale: Double) {
            self.kind = kind
            self.mean = mean
            self.std = std
            self.scale = scale
        }
    }

    public static let formatName = "icbhi-feature-shards/1"

    public var format = FeatureSetIndex.formatName
    public var featureSet: String
    public var id: String
    public var frames: Int
    public var bins: Int
    public var createdAt: String
    public var toolVersion: String
    /// The options that define the feature set, as `key=value` strings (also root attributes of each shard).
    public var options: [String: String]
    public var normalisation: Normalisation
    public var source: [String: String]
    public var rowsBySplit: [String: Int]
    public var shards: [Shard]

    public init(featureSet: String, id: String, frames: Int, bins: Int, createdAt: String, toolVersion: String,
                options: [String: String], normalisation: Normalisation, source: [String: String],
                rowsBySplit: [String: Int], shards: [Shard]) {
        self.featureSet = featureSet
        self.id = id
        self.frames = frames
        self.bins = bins
        self.createdAt = createdAt
        self.toolVersion = toolVersion
        self.options = options
        self.normalisation = normalisation
        self.source = source
        self.rowsBySplit = rowsBySplit
        self.shards = shards
    }

    enum CodingKeys: String, CodingKey {
        case format, featureSet = "feature_set", id, frames, bins, createdAt = "created_at", toolVersion = "tool_version"
        case options, normalisation, source, rowsBySplit = "rows_by_split", shards
    }

    public static let fileName = "index.json"

    public static func read(directory: String) throws -> FeatureSetIndex {
        let path = directory + "/" + fileName
        guard let data = FileManager.default.contents(atPath: path) else {
            throw StoreError.io(path: path, reason: "missing: not a complete feature set (run `prep features`)")
        }
        do {
            let index = try JSONDecoder().decode(FeatureSetIndex.self, from: data)
            guard index.format == formatName else {
                throw StoreError.mismatch(path: path, reason: "format '\(index.format)', expected '\(formatName)'")
            }
            return index
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError.malformed(path: path, line: nil, reason: "not a feature set index: \(error)")
        }
    }

    public func write(directory: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try AtomicFile.write(try encoder.encode(self), to: directory + "/" + Self.fileName)
    }
}
