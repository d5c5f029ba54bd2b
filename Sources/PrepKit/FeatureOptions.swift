import AudioDSP
import FeatureStore
import Foundation

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

    public init() {}

    /// The defining options as `key=value` pairs (index.json and shard attributes).
    public var describedOptions: [String: String] {
        var options: [String: String] = [
            "length_samples": String(lengthFixing.length),
            "pad": lengthFixing.mode.rawValue,
            "pad_fade_out_samples": String(lengthFixing.fadeOutLength),
            "normalisation": normalisation.rawValue,
            "shard_size": String(shardSize),
            "deflate_level": String(deflateLevel),
            "dtype": dtype.rawValue,
        ]
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        if let data = try? encoder.encode(fbank),
           let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] {
            for (key, value) in object { options["fbank_" + key] = "\(value)" }
        }
        return options
    }

    /// Content address of the feature set: options + the exact ingest output it reads.
    func identity(ingest: IngestState) -> String {
        let source = describedOptions.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
            + ["format=\(FeatureSetIndex.formatName)", "resampler=\(ingest.resampler)", "cycles_sha256=\(ingest.cyclesSHA256)"]
        return String(FileDigest.sha256(of: source.joined(separator: "\n")).prefix(16))
    }

    /// e.g. `icbhi-16k-8s-fbank128-reference-3fa2c19b`.
    func featureSetName(ingest: IngestState, id: String) -> String {
        if let name { return name }
        let seconds = Double(lengthFixing.length) / fbank.sampleFrequency
        let length = seconds == seconds.rounded() ? "\(Int(seconds))s" : "\(seconds)s"
        var parts = ["icbhi", "\(Int(fbank.sampleFrequency / 1000))k", length, "fbank\(fbank.numMelBins)", ingest.resampler]
        if lengthFixing.mode != .repeat { parts.append("pad-\(lengthFixing.mode.rawValue)") }
        if normalisation != .audioset { parts.append("norm-\(normalisation.rawValue)") }
        if dtype != .float32 { parts.append(dtype.rawValue) }
        parts.append(String(id.prefix(8)))
        return parts.joined(separator: "-")
    }
}

/// The version written into every output.
public enum ToolVersion {
    public static let current = "0.1.0"
}
