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
    public var lengthSeconds: Double { lengthFixing.seconds(sampleRate: IngestPipeline.sampleRate) }

    /// Sets the cycle length from seconds, as people give it: whole samples of the ingest's
    /// 16 kHz audio, with the reference's fade-out after tiling.
    ///
    /// - Throws: `PrepError.invalidOptions` for a length that gives no sample (or is not finite).
    public mutating func setLength(seconds: Double, padding: LengthFixing.Mode) throws(PrepError) {
        do {
            lengthFixing = try LengthFixing(seconds: seconds, sampleRate: IngestPipeline.sampleRate, mode: padding)
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
        if fbank.sampleFrequency != Double(IngestPipeline.sampleRate) {
            problems.append("the fbank's sample frequency must be the ingest's \(IngestPipeline.sampleRate) Hz, got \(fbank.sampleFrequency)")
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
