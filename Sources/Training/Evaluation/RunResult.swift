import Durability
import Foundation

/// One epoch's evaluation, as `result.json` and the results table quote it.
public struct EpochSummary: Codable, Sendable, Equatable {
    public var epoch: Int
    public var specificity: Double
    public var sensitivity: Double
    public var score: Double
    public var specificity2: Double
    public var sensitivity2: Double
    public var score2: Double
    public var confusion: [[Int]]
    /// A label task's run: each test split's SE, SP, AS, HS, Score (the fields above then hold
    /// the selection means, as `EpochRecord`'s); nil for ICBHI.
    public var tests: [SplitEvaluation]?

    public init(_ record: EpochRecord) {
        epoch = record.epoch
        specificity = record.specificity
        sensitivity = record.sensitivity
        score = record.score
        specificity2 = record.specificity2
        sensitivity2 = record.sensitivity2
        score2 = record.score2
        confusion = record.confusion
        tests = record.tests
    }
}

/// `result.json`: what a finished run reports, written once its last epoch is done. Its
/// presence marks the run finished (a rerun of the sweep leaves it alone); `train report`
/// builds the results table from these files, wherever the runs ran.
public struct RunResult: Codable, Sendable, Equatable {
    public static let fileName = "result.json"
    public static let currentFormat = "icbhi-ast-result/1"

    public var format = RunResult.currentFormat
    public var method: TrainingMethod
    public var seed: UInt64
    /// nil: the official split.
    public var testFold: Int?
    public var preset: String
    public var featureSet: String?
    public var featureSetID: String?
    /// Identity of everything but the swept values (method, fold, seed) and where the run ran:
    /// runs with equal hashes are comparable (`TrainingOptions.comparisonHash`).
    public var optionsHash: String
    /// `--task` of a label task's run (SPRSound); nil for ICBHI.
    public var task: String?
    /// Best epoch by the paper's rule (highest score with Se > 5); nil when no epoch qualified.
    /// A task's run: highest selection Score (`TaskSelection`).
    public var best: EpochSummary?
    public var last: EpochSummary
    public var epochs: Int
    public var steps: Int
    /// Training plus evaluation time over all epochs, resumed parts included.
    public var wallSeconds: Double
    public var device: String
    public var libtorch: String
    /// libtorch intra-op threads and OpenBLAS threads (nil: not OpenBLAS) the run used.
    public var threads: Int
    public var blasThreads: Int?
    public var options: TrainingOptions

    public init(options: TrainingOptions, history: [EpochRecord], best: BestEpochTracker, threads: Int) {
        precondition(!history.isEmpty, "a result needs at least one epoch")
        method = options.method
        seed = options.seed
        testFold = options.testFold
        preset = options.preset
        featureSet = options.featureSet
        featureSetID = options.featureSetID
        optionsHash = options.comparisonHash
        task = options.task
        self.best = best.epoch.flatMap { e in history.first { $0.epoch == e } }.map(EpochSummary.init)
        last = EpochSummary(history[history.count - 1])
        epochs = history.count
        steps = history.reduce(0) { $0 + $1.steps }
        wallSeconds = history.reduce(0) { $0 + $1.trainSeconds + $1.evalSeconds }
        device = options.device
        libtorch = Torch.version
        self.threads = threads
        blasThreads = Torch.blasThreads
        self.options = options
    }

    /// Writes `<directory>/result.json` atomically (temp file, fsync, rename).
    public func write(directory: String) throws(TrainingError) {
        let path = (directory as NSString).appendingPathComponent(Self.fileName)
        do { try AtomicFile.writeJSON(self, to: path) } catch {
            throw .writeFailed("cannot write \(path): \(error)")
        }
    }

    public static func read(path: String) throws(TrainingError) -> RunResult {
        let contents: Data?
        do { contents = try RegularFile.contents(atPath: path) } catch { throw .checkpoint(path: path, message: error.reason) }
        guard let data = contents else { throw .checkpoint(path: path, message: "cannot read") }
        return try decodeVersioned(RunResult.self, from: data, path: path, formats: [currentFormat],
                                   format: \.format, what: "not a run result")
    }
}

/// Decodes one of this trainer's JSON documents (a checkpoint's meta, `result.json`) and checks
/// its `format`; errors name `path`.
func decodeVersioned<T: Decodable>(_ type: T.Type, from data: Data, path: String, formats: [String],
                                   format: (T) -> String, what: String) throws(TrainingError) -> T {
    let value: T
    do { value = try JSONDecoder().decode(T.self, from: data) } catch {
        throw .checkpoint(path: path, message: "\(what): \(PlainErrors.decoding(error))")
    }
    guard formats.contains(format(value)) else {
        throw .checkpoint(path: path, message: "format \(format(value)) is not \(formats.last ?? "?")")
    }
    return value
}

extension TrainingOptions {
    /// These options with the swept values (method, seed, test fold) and the run's whereabouts
    /// (output directory, device, the init file's directory) blanked: equal for two runs of one sweep.
    var comparable: TrainingOptions {
        var o = self
        o.method = .ce
        o.seed = 0
        o.testFold = nil
        o.outputDirectory = ""
        o.device = ""
        o.initCheckpoint = initCheckpoint.map { ($0 as NSString).lastPathComponent }
        return o
    }

    /// A stable hash (FNV-1a 64 of the sorted-keys JSON) of `comparable`.
    public var comparisonHash: String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in comparable.canonicalJSON {
            hash ^= UInt64(b)
            hash = hash &* 0x100_0000_01b3
        }
        return String(format: "%016llx", hash)
    }

    /// Names of the fields in which two runs' comparable options differ, for messages that say
    /// why the runs cannot share a table.
    public func differences(from other: TrainingOptions) -> [String] {
        func fields(_ o: TrainingOptions) -> [String: String] {
            guard let object = try? JSONSerialization.jsonObject(with: o.canonicalJSON) as? [String: Any] else { return [:] }
            return object.mapValues { value in
                (try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .fragmentsAllowed]))
                    .map { String(decoding: $0, as: UTF8.self) } ?? "\(value)"
            }
        }
        let a = fields(comparable), b = fields(other.comparable)
        return Set(a.keys).union(b.keys).filter { a[$0] != b[$0] }.sorted()
    }

    private var canonicalJSON: Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return (try? encoder.encode(self)) ?? Data()
    }
}
