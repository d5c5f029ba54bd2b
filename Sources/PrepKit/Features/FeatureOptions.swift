import AudioDSP
import Durability
import FeatureStore
import Foundation
import Manifests

/// Everything that defines a feature set (its identity) plus how to run `prep features`.
public struct FeatureOptions: Sendable {
    public enum Normalisation: String, Sendable, CaseIterable, Codable {
        /// AudioSet statistics (the paper's): (x + 4.2677393) / (2 * 4.5689974).
        case audioset
        case none
        /// Mean and std of the training split's raw fbank, same formula.
        case train
    }

    public var cacheDirectory = "cache"
    public var lengthFixing = LengthFixing.reference
    public var fbank = FbankOptions.paper
    public var normalisation = Normalisation.audioset
    public var shardSize = 1024
    /// 0: none; 1-9: shuffle + deflate.
    public var deflateLevel = 0
    /// How shards store the values: float32 (exact) or float16 (half the bytes).
    public var dtype = FeatureDType.float32
    /// Feature set directory name under the cache (default: readable name + short id).
    public var name: String?
    public var jobs = ProcessInfo.processInfo.activeProcessorCount
    public var lockTimeout: Double = 0

    /// The paper's options (8 s repeat padding, 128-bin Kaldi fbank, AudioSet normalisation,
    /// float32, uncompressed shards of 1024 cycles).
    public init() {}

    /// HDF5 deflate level of compressed shards (with shuffle).
    public static let compressedDeflateLevel = 4

    /// Whether shards are compressed (`deflateLevel` > 0); setting it chooses
    /// `compressedDeflateLevel` or none.
    public var isCompressed: Bool {
        get { deflateLevel > 0 }
        set { deflateLevel = newValue ? Self.compressedDeflateLevel : 0 }
    }

    /// The cycle length in seconds of the ingest's 16 kHz audio.
    public var lengthSeconds: Double { lengthFixing.seconds(sampleRate: ReferenceAudio.sampleRate) }

    /// Sets the cycle length from seconds, as people give it: whole samples of the ingest's
    /// 16 kHz audio, with the reference's fade-out after tiling.
    ///
    /// - Throws: `PrepError.invalidOptions` for a length that gives no sample (or is not finite).
    public mutating func setLength(seconds: Double, padding: LengthFixing.Mode) throws(PrepError) {
        do {
            lengthFixing = try LengthFixing(seconds: seconds, sampleRate: ReferenceAudio.sampleRate, mode: padding)
        } catch {
            throw .invalidOptions(["--length: \(error)"])
        }
    }

    /// Every rule on these options, in one place: `prep features` checks them before it starts,
    /// and `FeaturePipeline` again before it reads anything.
    ///
    /// - Throws: `PrepError.invalidOptions`, listing every problem.
    public func validate() throws(PrepError) {
        var problems: [String] = []
        var partsAreValid = true
        do { try lengthFixing.validate() } catch { problems.append(error.description); partsAreValid = false }
        do { try fbank.validate() } catch { problems.append(error.description); partsAreValid = false }
        if fbank.sampleFrequency != Double(ReferenceAudio.sampleRate) {
            problems.append("the fbank's sample frequency must be the ingest's \(ReferenceAudio.sampleRate) Hz, got \(fbank.sampleFrequency)")
        } else if partsAreValid, fbank.frameCount(sampleCount: lengthFixing.length) < 1 {
            problems.append("a cycle of \(lengthFixing.length) samples (--length \(lengthSeconds) s) gives no fbank frame of "
                            + "\(fbank.windowSize) samples (--frame-length \(fbank.frameLengthMs) ms)")
        }
        if shardSize < 1 { problems.append("--shard-size must be at least 1, got \(shardSize)") }
        if !(0...9).contains(deflateLevel) { problems.append("deflate level must be 0 (none) to 9, got \(deflateLevel)") }
        if let name, name.isEmpty || name.contains("/") || name.hasPrefix(".") {
            problems.append("--name must be a plain directory name (not empty, no '/', not starting with '.'), got '\(name)'")
        }
        problems += IngestOptions.problems(jobs: jobs, lockTimeout: lockTimeout)
        if !problems.isEmpty { throw .invalidOptions(problems) }
    }

    /// The defining options as `key=value` strings: the feature set id hashes them and every
    /// shard stores them as root attributes (both must stay as they are: changing a string
    /// changes the id and the shards' bytes). `index.json` holds the same options typed:
    /// ``indexedOptions``.
    public var describedOptions: [String: String] {
        // Integers and strings: `description` is `String(n)` and the text itself.
        var options = ownOptions.mapValues(\.description)
        // The fbank's values as JSONSerialization's NSNumbers print them (`"1"` for true).
        if let data = Self.encoded(fbank),
           let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] {
            for (key, value) in object { options[FbankOptions.storedKeyPrefix + key] = "\(value)" }
        }
        return options
    }

    /// The options of ``describedOptions`` (the same keys, from the same values) as typed JSON
    /// values for `index.json`: numbers as numbers, booleans as booleans.
    public var indexedOptions: [String: FeatureSetIndex.OptionValue] {
        var options = ownOptions
        if let data = Self.encoded(fbank),
           let object = try? JSONDecoder().decode([String: FeatureSetIndex.OptionValue].self, from: data) {
            for (key, value) in object { options[FbankOptions.storedKeyPrefix + key] = value }
        }
        return options
    }

    /// The defining options other than the fbank's, typed: the one list of them, which both
    /// encodings above read (and ``LengthFixing/init(featureSetOptions:)`` decodes).
    private var ownOptions: [String: FeatureSetIndex.OptionValue] {
        typealias Key = FeatureSetIndex.OptionKey
        return [
            Key.lengthSamples: .integer(lengthFixing.length),
            Key.pad: .string(lengthFixing.mode.rawValue),
            Key.padFadeOutSamples: .integer(lengthFixing.fadeOutLength),
            Key.normalisation: .string(normalisation.rawValue),
            Key.shardSize: .integer(shardSize),
            Key.deflateLevel: .integer(deflateLevel),
            Key.dtype: .string(dtype.rawValue),
        ]
    }

    /// The fbank options' JSON encoding, the one source of their `fbank_*` options.
    private static func encoded(_ fbank: FbankOptions) -> Data? {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return try? encoder.encode(fbank)
    }

    /// Content address of the feature set: options + the exact ingest output it reads. A corpus
    /// with record-level items (SPRSound) reads recordings.csv too, so its digest is part of it:
    /// a re-ingest that changes only a record label gives another set, not the old one as current.
    func identity(ingest: IngestState, format: String = FeatureSetIndex.formatName) -> String {
        let source = describedOptions.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
            + ["format=\(format)", "resampler=\(ingest.resampler)", "cycles_sha256=\(ingest.cyclesSHA256)"]
            + (ingest.recordingsSHA256.map { ["recordings_sha256=\($0)"] } ?? [])
        return String(FileDigest.sha256(of: source.joined(separator: "\n")).prefix(16))
    }

    /// e.g. `icbhi-16k-8s-fbank128-reference-3fa2c19b` (the corpus first: `sprsound-...`).
    func featureSetName(ingest: IngestState, corpus: String = "icbhi", id: String) -> String {
        if let name { return name }
        let seconds = Double(lengthFixing.length) / fbank.sampleFrequency
        let length = seconds == seconds.rounded() ? "\(Int(seconds))s" : "\(seconds)s"
        var parts = [corpus, "\(Int(fbank.sampleFrequency / 1000))k", length, "fbank\(fbank.numMelBins)", ingest.resampler]
        if lengthFixing.mode != .repeat { parts.append("pad-\(lengthFixing.mode.rawValue)") }
        if normalisation != .audioset { parts.append("norm-\(normalisation.rawValue)") }
        if dtype != .float32 { parts.append(dtype.rawValue) }
        parts.append(String(id.prefix(8)))
        return parts.joined(separator: "-")
    }
}

extension FbankOptions {
    /// Prefix of the fbank options among a feature set's options (`fbank_numMelBins`, ...).
    static let storedKeyPrefix = FeatureSetIndex.OptionKey.fbankPrefix

    /// The fbank options a feature set was made with, from its `fbank_*` options: typed values
    /// of `index.json`, or the strings of older indexes and of shard attributes (`"128"`,
    /// `"0.97"`, `"1"` for true). Decoded with the options' own `Codable` conformance, each value
    /// read as the type its property has. Nil when one is missing or does not fit.
    public init?(featureSetOptions options: [String: FeatureSetIndex.OptionValue]) {
        // The JSON type of every property, from the encoding of the defaults.
        guard let template = try? JSONDecoder().decode([String: FeatureSetIndex.OptionValue].self,
                                                       from: JSONEncoder().encode(FbankOptions())) else { return nil }
        var typed: [String: FeatureSetIndex.OptionValue] = [:]
        for (key, kind) in template {
            guard let stored = options[Self.storedKeyPrefix + key] else { return nil }
            let value: FeatureSetIndex.OptionValue? = switch kind {
            case .boolean: stored.boolValue.map { .boolean($0) }
            case .integer, .number: stored.integerValue.map { .integer($0) } ?? stored.doubleValue.map { .number($0) }
            case .string: stored.stringValue.map { .string($0) }
            }
            guard let value else { return nil }
            typed[key] = value
        }
        guard let data = try? JSONEncoder().encode(typed),
              let decoded = try? JSONDecoder().decode(FbankOptions.self, from: data) else { return nil }
        self = decoded
    }
}

extension LengthFixing {
    /// The length fixing a feature set was made with, from its options (typed, or the strings of
    /// older indexes); the decoding of what ``FeatureOptions/indexedOptions`` encodes.
    ///
    /// - Throws: ``UnusableOption`` naming the option that is missing or unknown.
    public init(featureSetOptions options: [String: FeatureSetIndex.OptionValue]) throws(UnusableOption) {
        typealias Key = FeatureSetIndex.OptionKey
        guard let length = options[Key.lengthSamples]?.integerValue, length > 0 else { throw UnusableOption("no \(Key.lengthSamples)") }
        guard let pad = options[Key.pad]?.stringValue.flatMap(Mode.init(rawValue:)) else { throw UnusableOption("no known \(Key.pad)") }
        guard let fade = options[Key.padFadeOutSamples]?.integerValue else { throw UnusableOption("no \(Key.padFadeOutSamples)") }
        self.init(length: length, mode: pad, fadeOutLength: fade)
    }

    /// A feature set option that cannot be used, and why.
    public struct UnusableOption: Error, CustomStringConvertible, Sendable {
        public let description: String
        init(_ description: String) { self.description = description }
    }
}

/// The version written into every output.
public enum ToolVersion {
    public static let current = "0.1.0"
}
