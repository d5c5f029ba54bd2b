import AudioDSP
import Durability
import FeatureStore
import Foundation
import ICBHI
import Visualization

/// `prep show`: one stored cycle's normalised fbank as a PNG picture (mel bins up, time right,
/// viridis, axes in seconds and hertz, title with the cycle id and label). The picture shows
/// exactly what training reads: the row in the shard, not a recomputation.
public enum ShowCycle {
    /// Which row to draw.
    public enum Target: Sendable {
        /// A cycle id (`<stem>#<k>`) in a feature set of the cache (`featureSet`: a name under the
        /// cache or a directory; nil: the cache's only feature set).
        case cycle(id: String, featureSet: String?)
        /// Row `row` of one shard file.
        case shardRow(path: String, row: Int)
    }

    public struct Outcome: Sendable {
        public let png: String
        public let shard: String
        public let row: Int
        public let cycleID: String
        public let label: String
        public let width: Int
        public let height: Int
        public let valueRange: ClosedRange<Float>

        public func summary() -> String {
            "show: \(cycleID) (\(label)) from \(shard) row \(row) -> \(png) [\(width)x\(height) px, "
                + "colour scale \(String(format: "%.2f", valueRange.lowerBound))...\(String(format: "%.2f", valueRange.upperBound))]"
        }
    }

    /// Finds the row, renders it and writes the PNG atomically.
    public static func run(_ target: Target, cacheDirectory: String, png: String) throws -> Outcome {
        let (shard, row) = try locate(target, cacheDirectory: cacheDirectory)
        let stored = try StoredRow(shard: shard, row: row)
        let plot = stored.plot()
        let image = plot.render()
        let parent = URL(fileURLWithPath: png).deletingLastPathComponent().path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: parent, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw PrepError.input("\(png): the directory \(parent) does not exist")
        }
        try AtomicFile.produce(png) { temporary in try PNGFile.write(image, to: temporary) }
        return Outcome(png: png, shard: shard, row: row, cycleID: stored.cycleID, label: stored.labelName,
                       width: image.width, height: image.height, valueRange: plot.range ?? plot.robustRange)
    }

    /// The shard file and row of a target, with clear errors for unknown ids and bad rows.
    public static func locate(_ target: Target, cacheDirectory: String) throws -> (shard: String, row: Int) {
        switch target {
        case .shardRow(let path, let row):
            guard FileManager.default.fileExists(atPath: path) else { throw PrepError.input("\(path): no such shard file") }
            let rows = try readable { try ShardFile(path: path).shape(ofDataset: "cycle_id")?.first ?? 0 }
            guard (0..<rows).contains(row) else {
                throw PrepError.input("\(path): no row \(row) (the shard has \(rows) rows: 0...\(rows - 1))")
            }
            return (path, row)
        case .cycle(let id, let featureSet):
            let directory = try resolveFeatureSet(featureSet, cacheDirectory: cacheDirectory)
            let set = try readable { try FeatureSet(directory: directory) }
            let index = set.index
            var example: String?
            for shard in index.shards {
                let ids = try readable { try set.open(shard).cycleIDs() }
                if let row = ids.firstIndex(of: id) { return (set.path(of: shard), row) }
                example = example ?? ids.first
            }
            let hint = id.contains("#") ? "" : " (cycle ids are <recording stem>#<k>, e.g. \(example ?? "101_1b1_Al_sc_Meditron#0"))"
            throw PrepError.input("cycle '\(id)' is not in feature set \(directory) (\(index.shards.reduce(0) { $0 + $1.rows }) cycles)\(hint)")
        }
    }

    /// A feature set directory: the one named (a directory, a name under the cache, or a directory
    /// holding exactly one), else the cache's only one. Several or none is an error listing them.
    public static func resolveFeatureSet(_ name: String?, cacheDirectory: String) throws -> String {
        try readable {
            if let name { return try FeatureSetLocation.resolve(name, cacheDirectory: cacheDirectory, option: "--feature-set").directory }
            return try FeatureSetLocation.only(in: cacheDirectory, option: "--feature-set").directory
        }
    }

    /// Store-layer errors become user-facing input errors (they name the file and the reason).
    private static func readable<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as PrepError {
            throw error
        } catch {
            throw PrepError.input("\(error)")
        }
    }
}

/// One shard row with its metadata and the options needed to label the axes.
struct StoredRow {
    let shard: String
    let row: Int
    let values: [Float]
    let frames: Int
    let bins: Int
    let cycleID: String
    let labelName: String
    let subtitle: [String]
    let frameShiftSeconds: Double
    let binCentresHz: [Double]
    let markers: [(seconds: Double, label: String)]

    init(shard: String, row: Int) throws {
        do {
            let file = try ShardFile(path: shard)
            self.shard = shard
            self.row = row
            frames = file.frames
            bins = file.bins
            values = try file.features(ofRow: row)
            let metadata: ShardRow
            if file.hasTaskColumns {
                // A task-described shard (SPRSound): the row's level and its class in each task that applies.
                let tasks = try file.taskMetadata(ofRow: row)
                metadata = tasks.row
                let named = tasks.labels.filter { $0.value >= 0 }.map { "\($0.dataset.dropFirst(ShardDatasetName.taskPrefix.count).replacingOccurrences(of: "_", with: "-")) \($0.name ?? String($0.value))" }
                labelName = "\(tasks.level): " + (named.isEmpty ? "no label" : named.joined(separator: ", "))
            } else {
                metadata = try file.metadata(ofRow: row)
                labelName = CycleLabel(rawValue: metadata.label)?.name ?? "label \(metadata.label)"
            }

            cycleID = metadata.id
            let start = metadata.start, end = metadata.end

            let options = Self.featureSetOptions(of: file, at: shard)
            let fbank = FbankOptions(featureSetOptions: options) ?? Self.defaultFbank(bins: bins)
            frameShiftSeconds = fbank.frameShiftMs / 1000
            binCentresHz = Self.binCentres(of: fbank, bins: bins)

            let lengthSeconds = options[FeatureSetIndex.OptionKey.lengthSamples]?.doubleValue.map { $0 / fbank.sampleFrequency }
            markers = Self.paddingMarkers(cycleSeconds: end - start, lengthSeconds: lengthSeconds,
                                          pad: options[FeatureSetIndex.OptionKey.pad]?.stringValue)

            let featureSet = file.attribute("feature_set")?.stringValue ?? "?"
            let normalisation = file.attribute("normalisation")?.stringValue ?? "?"
            subtitle = [
                "patient \(metadata.patient), \(metadata.location), \(metadata.device), "
                    + "split \(metadata.split)\(metadata.fold.map { ", fold \($0)" } ?? ""); "
                    + "cycle \(String(format: "%.3f", start))-\(String(format: "%.3f", end)) s (\(String(format: "%.2f", end - start)) s)",
                "\(URL(fileURLWithPath: shard).lastPathComponent) row \(row) of \(featureSet); "
                    + "\(frames) frames x \(bins) mel bins, normalisation \(normalisation)",
            ]
        } catch let error as PrepError {
            throw error
        } catch {
            throw PrepError.input("\(shard): cannot read row \(row): \(error)")
        }
    }

    func plot() -> FbankPlot {
        FbankPlot(values: values, frames: frames, bins: bins, frameShiftSeconds: frameShiftSeconds,
                  binCentresHz: binCentresHz, title: "\(cycleID)  \(labelName)", subtitle: subtitle, markers: markers)
    }

    /// The options of the shard's feature set, typed: those of the `index.json` beside the shard
    /// when it lists the shard and has its feature set id, else the shard's root attributes
    /// (strings; a shard on its own). Absent options are left out.
    static func featureSetOptions(of file: ShardFile, at shard: String) -> [String: FeatureSetIndex.OptionValue] {
        let url = URL(fileURLWithPath: shard)
        if let index = try? FeatureSetIndex.read(directory: url.deletingLastPathComponent().path),
           index.id == file.attribute("feature_set_id")?.stringValue,
           index.shards.contains(where: { $0.file == url.lastPathComponent }) {
            return index.options
        }
        var options: [String: FeatureSetIndex.OptionValue] = [:]
        for key in FeatureOptions().describedOptions.keys {
            if let text = file.attribute(key)?.stringValue { options[key] = .string(text) }
        }
        return options
    }

    /// Kaldi's defaults (16 kHz, 10 ms shift, filters from 20 Hz to Nyquist) with the shard's bin
    /// count, for a shard whose fbank options cannot be read.
    static func defaultFbank(bins: Int) -> FbankOptions {
        var fbank = FbankOptions()
        fbank.numMelBins = bins
        return fbank
    }

    /// One centre frequency per stored column: the mel filters' (from AudioDSP); an energy column
    /// (`useEnergy`: last with `htkCompat`, else first) repeats its neighbour's.
    static func binCentres(of fbank: FbankOptions, bins: Int) -> [Double] {
        var centres = fbank.melFilterCentresHz
        if fbank.useEnergy, centres.count == bins - 1, let first = centres.first, let last = centres.last {
            if fbank.htkCompat { centres.append(last) } else { centres.insert(first, at: 0) }
        }
        return centres.count == bins ? centres : defaultFbank(bins: bins).melFilterCentresHz
    }

    /// Where a short cycle's own audio ends and padding begins (repeat: the first copy ends;
    /// zero: the centred cycle's edges). None when the cycle fills the length.
    static func paddingMarkers(cycleSeconds: Double, lengthSeconds: Double?, pad: String?) -> [(seconds: Double, label: String)] {
        guard let length = lengthSeconds, cycleSeconds > 0, cycleSeconds < length else { return [] }
        switch pad {
        case "repeat": return [(cycleSeconds, "repeat")]
        case "zero": return [((length - cycleSeconds) / 2, "cycle"), ((length + cycleSeconds) / 2, "zeros")]
        default: return []
        }
    }
}
