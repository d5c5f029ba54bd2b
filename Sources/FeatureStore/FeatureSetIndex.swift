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
        /// The file's XXH64 (feature sets written now).
        public var xxh64: String?
        /// The file's SHA-256 (feature sets written before XXH64; still verified).
        public var sha256: String?

        public init(file: String, split: String, rows: Int, bytes: Int, checksum: Checksum) {
            self.file = file
            self.split = split
            self.rows = rows
            self.bytes = bytes
            switch checksum.algorithm {
            case .xxh64: xxh64 = checksum.value
            case .sha256: sha256 = checksum.value
            }
        }

        /// The recorded checksum, XXH64 if present, else SHA-256; nil if the entry has neither.
        public var checksum: Checksum? {
            if let xxh64 { return Checksum(algorithm: .xxh64, value: xxh64) }
            if let sha256 { return Checksum(algorithm: .sha256, value: sha256) }
            return nil
        }
    }

    /// A file checksum as `index.json` records it: the algorithm and the hex value.
    public struct Checksum: Sendable, Equatable, CustomStringConvertible {
        public var algorithm: DigestAlgorithm
        public var value: String

        public init(algorithm: DigestAlgorithm, value: String) {
            self.algorithm = algorithm
            self.value = value
        }

        public var description: String { "\(algorithm.displayName) \(value)" }
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
    /// Feature sets of other corpora (SPRSound): `corpus` and `tasks` say what the rows hold
    /// (LabelTasks.swift; ../shared/... spec sprsound-shards.md).
    public static let corpusFormatName = "feature-shards/2"
    /// The formats this reader accepts.
    public static let readableFormats = [formatName, corpusFormatName]

    public var format = FeatureSetIndex.formatName
    public var featureSet: String
    public var id: String
    public var frames: Int
    public var bins: Int
    public var createdAt: String
    public var toolVersion: String
    /// The options that define the feature set, as typed JSON values (each shard holds them too,
    /// as string root attributes). Indexes written before typed options hold every value as a
    /// string; ``OptionValue``'s accessors read both.
    public var options: [String: OptionValue]
    public var normalisation: Normalisation
    public var source: [String: String]
    public var rowsBySplit: [String: Int]
    public var shards: [Shard]
    /// The corpus the rows come from; nil (indexes of ICBHI sets, older ones too) means ICBHI.
    public var corpus: String?
    /// The label tasks the shards carry one `/task_<name>` dataset each for (nil for ICBHI).
    public var tasks: [LabelTask]?

    public init(featureSet: String, id: String, frames: Int, bins: Int, createdAt: String, toolVersion: String,
                options: [String: OptionValue], normalisation: Normalisation, source: [String: String],
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
        case corpus, tasks
    }

    public static let fileName = "index.json"

    public static func read(directory: String) throws -> FeatureSetIndex {
        let path = directory + "/" + fileName
        guard let data = try RegularFile.contents(atPath: path) else {
            throw StoreError.io(path: path, reason: "missing: not a complete feature set (run `prep features`)")
        }
        do {
            let index = try JSONDecoder().decode(FeatureSetIndex.self, from: data)
            guard readableFormats.contains(index.format) else {
                throw StoreError.mismatch(path: path, reason: "format '\(index.format)', expected '\(readableFormats.joined(separator: "' or '"))'")
            }
            try index.checkTasks(path: path)
            if let shard = index.shards.first(where: { $0.checksum == nil }) {
                throw StoreError.malformed(path: path, line: nil, reason: "shard \(shard.file) has no checksum (xxh64 or sha256)")
            }
            return index
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError.malformed(path: path, line: nil, reason: "not a feature set index: \(PlainErrors.decoding(error))")
        }
    }

    public func write(directory: String) throws {
        try AtomicFile.writeJSON(self, to: directory + "/" + Self.fileName)
    }
}

extension FeatureSetIndex {
    /// The names of a feature set's options in `index.json` and in every shard's root attributes
    /// (`FeatureOptions` in PrepKit writes them; `FeatureSet`, `prep show` and `predict` read them).
    public enum OptionKey {
        public static let lengthSamples = "length_samples"
        public static let pad = "pad"
        public static let padFadeOutSamples = "pad_fade_out_samples"
        public static let normalisation = "normalisation"
        public static let shardSize = "shard_size"
        public static let deflateLevel = "deflate_level"
        public static let dtype = "dtype"
        /// Prefix of the fbank options (`fbank_numMelBins`, ...), named as `FbankOptions` encodes them.
        public static let fbankPrefix = "fbank_"
    }

    /// One option's value in `index.json`: a JSON string, integer, other number or boolean.
    ///
    /// Decoding keeps whatever JSON type it finds, so indexes written before options were typed
    /// (every value a string, e.g. `"128"`, `"0.97"`, `"1"` for true) still read; the accessors
    /// convert such strings, so callers need not know which kind of index they read.
    public enum OptionValue: Codable, Sendable, Hashable, CustomStringConvertible,
        ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral, ExpressibleByBooleanLiteral {
        case string(String)
        case integer(Int)
        case number(Double)
        case boolean(Bool)

        public init(stringLiteral value: String) { self = .string(value) }
        public init(integerLiteral value: Int) { self = .integer(value) }
        public init(floatLiteral value: Double) { self = .number(value) }
        public init(booleanLiteral value: Bool) { self = .boolean(value) }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let value = try? container.decode(Bool.self) {
                self = .boolean(value)
            } else if let value = try? container.decode(Int.self) {
                self = .integer(value)
            } else if let value = try? container.decode(Double.self) {
                self = .number(value)
            } else {
                self = .string(try container.decode(String.self))
            }
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            switch self {
            case .string(let value): try container.encode(value)
            case .integer(let value): try container.encode(value)
            case .number(let value): try container.encode(value)
            case .boolean(let value): try container.encode(value)
            }
        }

        /// The text of a string value; nil for numbers and booleans.
        public var stringValue: String? {
            if case .string(let value) = self { value } else { nil }
        }

        /// A number (or numeric string) as a Double; nil for booleans and other text.
        public var doubleValue: Double? {
            switch self {
            case .integer(let value): Double(value)
            case .number(let value): value
            case .string(let text): Double(text)
            case .boolean: nil
            }
        }

        /// A whole number (or a string of one) as an Int; nil for fractions, booleans and other text.
        public var integerValue: Int? {
            switch self {
            case .integer(let value): value
            case .number(let value): Int(exactly: value)
            case .string(let text): Int(text) ?? Double(text).flatMap { Int(exactly: $0) }
            case .boolean: nil
            }
        }

        /// A boolean; of strings, `true`/`false` and `1`/`0` (how older indexes wrote booleans).
        public var boolValue: Bool? {
            switch self {
            case .boolean(let value): value
            case .string("true"), .string("1"): true
            case .string("false"), .string("0"): false
            case .string, .integer, .number: nil
            }
        }

        /// The value as text: strings as they are, numbers in Swift's shortest form, `true`/`false`.
        public var description: String {
            switch self {
            case .string(let value): value
            case .integer(let value): String(value)
            case .number(let value): String(value)
            case .boolean(let value): String(value)
            }
        }
    }
}
