import AudioDSP
import Durability
import FeatureStore
import Foundation
import Manifests

/// `prep features`: 16 kHz cycles -> fixed length -> Kaldi fbank -> normalised -> HDF5 shards
/// (REFERENCE.md steps 5-7), in a content-addressed feature set `<cache>/<name>/`. The items
/// come from the ingest's corpus recipe (`Corpus`); nothing here knows a corpus's names.
///
/// Workers compute one recording's cycles at a time; the calling thread writes rows to the shard
/// in plan order, so shards are bit-identical for any `jobs`. A shard is staged in a temp file
/// and renamed when complete; `index.json` is written last. A rerun reuses complete shards.
public struct FeaturePipeline {
    public let options: FeatureOptions
    public let console: Console

    public init(options: FeatureOptions, console: Console) {
        self.options = options
        self.console = console
    }

    /// One shard of the plan: its file, split and rows.
    struct PlannedShard {
        let file: String
        let split: String
        let cycles: [FeatureItem]
        /// Consecutive rows of one recording: the unit of parallel work.
        let groups: [Range<Int>]
    }

    public struct Outcome: Sendable {
        public let directory: String
        public let index: FeatureSetIndex
        public let upToDate: Bool
        public let reusedShards: Int
        public let seconds: Double
    }

    public func run() throws -> Outcome {
        let started = Date()
        try options.validate()
        let ingest: IngestState
        do { ingest = try IngestState.read(cacheDirectory: options.cacheDirectory) } catch { throw PrepError.input("\(error)") }
        let corpus = try Corpus(ingest: ingest)
        let id = options.identity(ingest: ingest, format: corpus.featureFormat)
        let name = options.featureSetName(ingest: ingest, corpus: corpus.rawValue, id: id)
        let directory = options.cacheDirectory + "/" + name

        func existing() throws -> Outcome? {
            guard let index = try? FeatureSetIndex.read(directory: directory) else { return nil }
            guard index.id == id else {
                throw PrepError.input("\(directory) holds a different feature set (id \(index.id), these options give \(id)); choose another --name or delete it")
            }
            guard Self.shardsPresent(index, in: directory) else { return nil }
            return Outcome(directory: directory, index: index, upToDate: true, reusedShards: index.shards.count,
                           seconds: Date().timeIntervalSince(started))
        }
        if let upToDate = try existing() { return upToDate }

        let lock = try CacheLock(path: options.cacheDirectory + "/.lock", purpose: "prep features \(name)",
                                 timeout: options.lockTimeout) {
            console.warn("waiting for another run holding \(options.cacheDirectory)/.lock ...")
        }
        defer { withExtendedLifetime(lock) {} }
        // With --wait, the run we waited for may have just written this very feature set.
        if let upToDate = try existing() { return upToDate }

        let audio = CycleAudioStore(cacheDirectory: options.cacheDirectory, resampler: ingest.resampler)
        let source = try corpus.featureSource(ingest: ingest, audio: audio, jobs: options.jobs)
        let cycles = source.items
        let plan = Self.plan(cycles, splitOrder: corpus.splitOrder, shardSize: options.shardSize)
        try AtomicFile.makeDirectory(directory)
        AtomicFile.sweepPartials(in: directory)

        let fbank = try KaldiFbank(options: options.fbank)
        let frames = fbank.frameCount(sampleCount: options.lengthFixing.length)
        let bins = fbank.featureDimension
        guard frames > 0 else { throw PrepError.input("--length gives no fbank frame") }
        let normalisation = try resolveNormalisation(plan: plan, audio: audio, fbank: fbank, frames: frames)
        let computer = CycleFeatureComputer(fbank: fbank, lengthFixing: options.lengthFixing,
                                            normalisation: normalisation.feature, audio: audio, frames: frames)

        let attributes = shardAttributes(name: name, id: id, ingest: ingest, description: corpus.shardDescription,
                                         normalisation: normalisation.index)
        let publisher = DurablePublisher()
        var reused = 0
        let totalRows = cycles.count
        var rowsDone = 0
        for planned in plan {
            let path = directory + "/" + planned.file
            if Self.isComplete(path: path, id: id, rows: planned.cycles.count) {
                reused += 1
                rowsDone += planned.cycles.count
            } else {
                let dtype = options.dtype
                let staged = try FeatureShard.stage(
                    path: path, rows: .init(cycles: planned.cycles.map(\.row), tasks: corpus.tasks), frames: frames, bins: bins,
                    dtype: dtype, deflateLevel: options.deflateLevel,
                    attributes: attributes + [("split", .string(planned.split)),
                                              ("rows", .integer(Int64(planned.cycles.count)))]
                ) { writer in
                    try produceInOrder(count: planned.groups.count, jobs: options.jobs, window: 4 * options.jobs + 4,
                                       produce: { group in
                        // Workers also convert to the stored dtype: the writing thread only writes.
                        let cycles = Array(planned.cycles[planned.groups[group]])
                        return try EncodedRows(count: cycles.count, rowLength: frames * bins, as: dtype) { values in
                            try computer.features(of: cycles, into: values)
                        }
                    }, consume: { group, values in
                        let rows = planned.groups[group]
                        try writer.write(values, at: rows.lowerBound)
                        rowsDone += rows.count
                        console.progress("features", done: rowsDone, total: totalRows, detail: planned.file)
                    })
                }
                // fsync (and the hash, if it could not be taken while writing) and rename happen in
                // the background while the next shard is computed.
                publisher.publish(staged.temporary, as: path, computingDigest: FeatureShard.checksumAlgorithm, knownDigest: staged.checksum,
                                  releasingPageCache: true)
                if let failure = publisher.firstFailure { throw failure }
            }
        }
        try publisher.finish()
        console.finishProgress()
        var shards: [FeatureSetIndex.Shard] = []
        for planned in plan {
            let path = directory + "/" + planned.file
            let bytes = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)??.intValue ?? 0
            let digest = try publisher.digest(of: path)
                ?? FileDigest.hexDigest(ofFileAt: path, algorithm: FeatureShard.checksumAlgorithm)
            shards.append(.init(file: planned.file, split: planned.split, rows: planned.cycles.count,
                                bytes: bytes, checksum: .init(algorithm: FeatureShard.checksumAlgorithm, value: digest)))
        }

        var rowsBySplit: [String: Int] = [:]
        for shard in shards { rowsBySplit[shard.split, default: 0] += shard.rows }
        var index = FeatureSetIndex(
            featureSet: name, id: id, frames: frames, bins: bins,
            createdAt: ISO8601DateFormatter().string(from: Date()), toolVersion: ToolVersion.current,
            options: options.indexedOptions, normalisation: normalisation.index,
            source: ["resampler": ingest.resampler, "cycles_sha256": ingest.cyclesSHA256,
                     "cycles_manifest": source.manifestPath, "audio": ingest.audioDirectory],
            rowsBySplit: rowsBySplit, shards: shards)
        if let tasks = corpus.tasks {
            // A task-described corpus; ICBHI's index stays as before (no corpus, no tasks).
            index.format = corpus.featureFormat
            index.corpus = corpus.rawValue
            index.tasks = tasks
        }
        try index.write(directory: directory)
        return Outcome(directory: directory, index: index, upToDate: false, reusedShards: reused,
                       seconds: Date().timeIntervalSince(started))
    }

    /// Rows in the corpus's split order (ICBHI: train, test, unassigned; splits it does not list
    /// after them, by name), manifest order within a split; shards of at most `shardSize` rows;
    /// groups of consecutive rows from one recording.
    static func plan(_ cycles: [FeatureItem], splitOrder: [String], shardSize: Int) -> [PlannedShard] {
        var shards: [PlannedShard] = []
        for split in Corpus.ordered(splits: cycles.map(\.split), listed: splitOrder) {
            let rows = cycles.filter { $0.split == split }
            for (number, start) in stride(from: 0, to: rows.count, by: shardSize).enumerated() {
                let shardRows = Array(rows[start..<min(start + shardSize, rows.count)])
                var groups: [Range<Int>] = []
                var begin = 0
                for row in 1...shardRows.count where row == shardRows.count || shardRows[row].recording != shardRows[begin].recording {
                    groups.append(begin..<row)
                    begin = row
                }
                shards.append(PlannedShard(file: split + "-" + String(format: "%05d", number) + ".h5", split: split,
                                           cycles: shardRows, groups: groups))
            }
        }
        return shards
    }

    /// A published shard from an interrupted run of the same feature set can be kept.
    static func isComplete(path: String, id: String, rows: Int) -> Bool {
        guard FileManager.default.fileExists(atPath: path), let file = try? ShardFile(path: path) else { return false }
        return file.attribute("feature_set_id")?.stringValue == id
            && file.attribute("rows")?.integerValue == Int64(rows)
            && file.rowCount == rows
    }

    /// Cheap completeness check for the "nothing to do" path (full checks: `prep verify`).
    static func shardsPresent(_ index: FeatureSetIndex, in directory: String) -> Bool {
        index.shards.allSatisfy { shard in
            let size = (try? FileManager.default.attributesOfItem(atPath: directory + "/" + shard.file)[.size] as? NSNumber)??.intValue
            return size == shard.bytes
        }
    }

    private func shardAttributes(name: String, id: String, ingest: IngestState, description: String,
                                 normalisation: FeatureSetIndex.Normalisation) -> [(String, ShardAttributeValue)] {
        var attributes: [(String, ShardAttributeValue)] = [
            ("description", .string(description)),
            ("feature_set", .string(name)),
            ("feature_set_id", .string(id)),
            ("tool", .string("prep \(ToolVersion.current)")),
            ("sample_rate", .integer(Int64(ReferenceAudio.sampleRate))),
            ("resampler", .string(ingest.resampler)),
            ("source_cycles_sha256", .string(ingest.cyclesSHA256)),
            ("normalisation", .string(normalisation.kind)),
            ("normalisation_mean", .double(normalisation.mean)),
            ("normalisation_std", .double(normalisation.std)),
            ("normalisation_formula", .string("(fbank - mean) / (\(normalisation.scale) * std)")),
            ("creation_time", .string("see index.json (kept out of shards so that reruns are bit-identical)")),
        ]
        for (key, value) in options.describedOptions.sorted(by: { $0.key < $1.key }) {
            attributes.append((key, .string(value)))
        }
        return attributes
    }

    /// The normalisation to apply, measuring the training split first for `--norm train`.
    private func resolveNormalisation(plan: [PlannedShard], audio: CycleAudioStore, fbank: KaldiFbank,
                                      frames: Int) throws -> (feature: FeatureNormalization, index: FeatureSetIndex.Normalisation) {
        switch options.normalisation {
        case .none:
            return (.none, .unnormalised)
        case .audioset:
            return (.audioset, .init(FeatureNormalization.audioset))
        case .train:
            let raw = CycleFeatureComputer(fbank: fbank, lengthFixing: options.lengthFixing, normalisation: .none,
                                           audio: audio, frames: frames)
            let units = plan.filter { $0.split == "train" }.flatMap { shard in shard.groups.map { Array(shard.cycles[$0]) } }
            guard !units.isEmpty else { throw PrepError.input("--norm train: the training split is empty") }
            var sum = 0.0, squares = 0.0, count = 0
            try produceInOrder(count: units.count, jobs: options.jobs, window: 4 * options.jobs + 4, produce: { unit in
                let values = try raw.features(of: units[unit])
                var s = 0.0, q = 0.0
                for value in values { s += Double(value); q += Double(value) * Double(value) }
                return (s, q, values.count)
            }, consume: { _, partial in
                sum += partial.0
                squares += partial.1
                count += partial.2
                console.progress("train statistics", done: count / (frames * fbank.featureDimension), total: units.reduce(0) { $0 + $1.count })
            })
            let mean = sum / Double(count)
            let std = (max(0, squares / Double(count) - mean * mean)).squareRoot()
            let normalisation = FeatureNormalization.train(mean: mean, std: std)
            return (normalisation, .init(normalisation))
        }
    }
}

/// Features of the cycles of one recording: read its 16 kHz cycles once, fix each to the
/// target length, fbank, normalise. Thread-safe: per-call scratch.
struct CycleFeatureComputer: Sendable {
    let fbank: KaldiFbank
    let lengthFixing: LengthFixing
    let normalisation: FeatureNormalization
    let audio: CycleAudioStore
    let frames: Int

    func features(of cycles: [FeatureItem]) throws -> [Float] {
        try [Float](unsafeUninitializedCapacity: cycles.count * frames * fbank.featureDimension) { buffer, initialized in
            try features(of: cycles, into: buffer)
            initialized = buffer.count
        }
    }

    /// Writes the features of `cycles` (rows of `frames x bins` floats) into `output`, every value.
    func features(of cycles: [FeatureItem], into output: UnsafeMutableBufferPointer<Float>) throws {
        guard let first = cycles.first else { return }
        let stored = try audio.readCycles(stem: first.recording)
        let position = Dictionary(uniqueKeysWithValues: stored.cycleIndices.enumerated().map { ($1, $0) })
        let rowLength = frames * fbank.featureDimension
        precondition(output.count == cycles.count * rowLength, "feature buffer of the wrong size")
        var fixed = [Float](repeating: 0, count: lengthFixing.length)
        let workspace = KaldiFbank.Workspace(for: fbank)
        for (row, cycle) in cycles.enumerated() {
            guard let slot = position[cycle.index] else {
                throw PrepError.input("\(audio.path(for: first.recording)): cycle \(cycle.id) missing: rerun `prep ingest`")
            }
            let range = stored.offsets[slot]..<stored.offsets[slot + 1]
            guard range.count == cycle.sampleCount else {
                throw PrepError.input("\(audio.path(for: first.recording)): cycle \(cycle.id) has \(range.count) samples, the manifest says \(cycle.sampleCount): rerun `prep ingest`")
            }
            try stored.samples.withUnsafeBufferPointer { samples in
                try fixed.withUnsafeMutableBufferPointer { fixedBuffer in
                    do {
                        try lengthFixing.apply(UnsafeBufferPointer(rebasing: samples[range]), into: fixedBuffer)
                    } catch {
                        throw PrepError.input("\(cycle.id): \(error)")
                    }
                }
            }
            fixed.withUnsafeBufferPointer { fixedBuffer in
                let rowBuffer = UnsafeMutableBufferPointer(rebasing: output[(row * rowLength)..<((row + 1) * rowLength)])
                fbank.compute(fixedBuffer, into: rowBuffer, workspace: workspace, normalizedBy: normalisation)
            }
        }
    }
}

extension FeaturePipeline.Outcome {
    /// One-paragraph summary for the terminal.
    public func summary() -> String {
        let rows = index.rowsBySplit.sorted { $0.key > $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        if upToDate {
            return "features: up to date, nothing to do: \(directory) (\(rows); \(index.shards.count) shards)"
        }
        let bytes = index.shards.reduce(0) { $0 + $1.bytes }
        return """
        features: \(directory) (\(rows) cycles; \(index.shards.count) shards, \(reusedShards) reused; \(bytes / 1_000_000) MB) in \(String(format: "%.2f", seconds)) s
          [\(index.frames) frames x \(index.bins) bins, normalisation \(index.normalisation.kind)]; check with `prep verify \(index.featureSet)`
        """
    }
}
