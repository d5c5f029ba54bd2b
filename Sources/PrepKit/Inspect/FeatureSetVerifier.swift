import Durability
import FeatureStore
import Foundation
import Manifests

/// `prep verify`: re-checks a feature set against its index: every shard present, same size and
/// SHA-256, readable HDF5 with the indexed row count and shape, no NaN or Inf; no stray shard.
public enum FeatureSetVerifier {
    public struct Finding: Sendable, CustomStringConvertible {
        public let file: String
        public let problem: String
        public var description: String { "\(file): \(problem)" }
    }

    /// Feature set directories under a cache (those with an index.json).
    public static func featureSets(in cacheDirectory: String) -> [String] {
        FeatureSetLocation.featureSets(in: cacheDirectory)
    }

    /// Every problem found in one feature set (empty: it is sound).
    public static func verify(directory: String, console: Console? = nil) -> [Finding] {
        let set: FeatureSet
        do {
            set = try FeatureSet(directory: directory)
        } catch {
            return [finding(error, about: directory + "/" + FeatureSetIndex.fileName)]
        }
        let index = set.index
        var findings: [Finding] = []
        let listed = Set(index.shards.map(\.file))
        let present = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.hasSuffix(".h5") }
        for stray in present where !listed.contains(stray) {
            findings.append(Finding(file: directory + "/" + stray, problem: "shard not in the index (stale index or stray file)"))
        }
        var rowsBySplit: [String: Int] = [:]
        for (number, shard) in index.shards.enumerated() {
            console?.progress("verify", done: number, total: index.shards.count, detail: shard.file)
            rowsBySplit[shard.split, default: 0] += shard.rows
            let path = directory + "/" + shard.file
            guard let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.intValue else {
                findings.append(Finding(file: path, problem: "missing"))
                continue
            }
            if let kind = RegularFile.otherKind(at: path) {   // never opened: a named pipe would block
                findings.append(Finding(file: path, problem: "not a regular file (\(kind))"))
                continue
            }
            if size != shard.bytes { findings.append(Finding(file: path, problem: "size \(size) bytes, index says \(shard.bytes)")) }
            if let recorded = shard.checksum {   // FeatureSetIndex.read refuses entries without one
                let digest: String
                do { digest = try FileDigest.hexDigest(ofFileAt: path, algorithm: recorded.algorithm) } catch {
                    findings.append(finding(error, about: path))
                    continue
                }
                if digest != recorded.value {
                    findings.append(Finding(file: path, problem: "\(recorded.algorithm.displayName) \(digest) differs from the index (\(recorded.value))"))
                }
            }
            findings += checkContents(shard: shard, in: set)
        }
        console?.finishProgress()
        if rowsBySplit != index.rowsBySplit {
            findings.append(Finding(file: directory + "/" + FeatureSetIndex.fileName, problem: "rows_by_split \(index.rowsBySplit) but shards hold \(rowsBySplit)"))
        }
        return findings
    }

    /// The cache's last ingest, if it has one (`ingest.json`): `cycles.csv` still has the SHA-256
    /// recorded there, both manifests parse and agree (cycles per recording), and every
    /// recording's cycle audio opens with the provenance and cycle count the manifest states and
    /// offsets that describe its samples, and samples whose SHA-256 is the one recorded at ingest
    /// (`uncheckedAudio`: files from before checksums, which cannot be checked). Returns nil when
    /// the cache holds no ingest.
    public static func verifyIngest(cacheDirectory: String) -> (findings: [Finding], recordings: Int, cycles: Int, uncheckedAudio: Int)? {
        let statePath = IngestState.path(cacheDirectory: cacheDirectory)
        guard FileManager.default.fileExists(atPath: statePath) else { return nil }
        let state: IngestState
        do { state = try IngestState.read(cacheDirectory: cacheDirectory) } catch {
            return ([finding(error, about: statePath)], 0, 0, 0)
        }
        // An ingest.json that names no corpus, or one this prep does not know, gets ICBHI's checks.
        return (Corpus(rawValue: state.corpus ?? Corpus.icbhi.rawValue) ?? .icbhi).verifyIngest(state: state, cacheDirectory: cacheDirectory)
    }

    /// Reads `stem`'s cycle audio, asks `entriesProblem` whether its entries are the ones the
    /// manifests list, and checks its samples against the SHA-256 ingest recorded; what is wrong
    /// goes to `findings`. Returns true when the file holds no checksum to check (written before
    /// ingest recorded them).
    static func checkCycleAudio(of stem: String, in audio: CycleAudioStore, findings: inout [Finding],
                                entriesProblem: ([Int]) -> String?) -> Bool {
        do {
            let stored = try audio.readCycles(stem: stem)
            if let problem = entriesProblem(stored.cycleIndices) {
                findings.append(Finding(file: audio.path(for: stem), problem: problem))
            }
            switch try audio.checkSamples(stored.samples, stem: stem) {
            case .matches: return false
            case .notRecorded: return true
            case .differs(let recorded, let computed):
                findings.append(Finding(file: audio.path(for: stem), problem: "samples SHA-256 \(computed) differs from the one recorded at ingest (\(recorded)): corrupted since `prep ingest`"))
                return false
            }
        } catch {
            findings.append(finding(error, about: audio.path(for: stem)))
            return false
        }
    }

    private static func checkContents(shard: FeatureSetIndex.Shard, in set: FeatureSet) -> [Finding] {
        let path = set.path(of: shard)
        do {
            let file = try set.open(shard)
            var findings: [Finding] = []
            typealias Name = ShardDatasetName
            let labels = file.hasTaskColumns ? file.taskDatasets : [Name.label.name, Name.label2.name]
            for name in [Name.cycleID.name] + labels + [Name.split, Name.recording, Name.patient].map(\.name) where file.shape(ofDataset: name) != [shard.rows] {
                findings.append(Finding(file: path, problem: "/\(name) does not hold \(shard.rows) rows"))
            }
            if file.attribute("feature_set_id")?.stringValue != set.id {
                findings.append(Finding(file: path, problem: "belongs to another feature set"))
            }
            if let stored = file.storedDType {
                if stored != set.dtype {
                    findings.append(Finding(file: path, problem: "fbank is \(stored.rawValue), index says \(set.dtype?.rawValue ?? "an unknown dtype")"))
                }
            } else {
                findings.append(Finding(file: path, problem: "fbank holds neither float32 nor float16 values"))
            }
            var row = [Float](repeating: 0, count: file.rowLength)
            for r in 0..<shard.rows {
                try row.withUnsafeMutableBufferPointer { try file.read(rowsAt: r, into: $0) }
                if !row.allSatisfy({ $0.isFinite }) {
                    findings.append(Finding(file: path, problem: "row \(r) holds NaN or Inf"))
                    break
                }
            }
            return findings
        } catch {
            return [finding(error, about: path)]
        }
    }

    /// A finding that names the file once: errors that name their file (StoreError, HDF5's)
    /// give it and their reason; others are about `file`, with a leading "<file>: " dropped.
    static func finding(_ error: Error, about file: String) -> Finding {
        if let error = error as? StoreError { return Finding(file: error.path, problem: error.reason) }
        return Finding(file: file, problem: String(describing: error).droppingPrefix(file + ": "))
    }
}
