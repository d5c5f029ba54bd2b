import Foundation

/// A list of integers as users write them on the command line: `1-5`, `1,2,3`, `0-2,4`.
public enum IntegerList {
    /// Parses `text` into its integers, in the order written, without duplicates, refusing lists
    /// of more than `limit` values before expanding anything (`--seed 1-2000000000` is refused at
    /// once, not enumerated). Linear in the values: duplicates are found through a set.
    /// `option` names the option in error messages.
    public static func parse(_ text: String, option: String, limit: Int = SweepPlan.maximumRuns) throws(TrainingError) -> [Int] {
        var ranges: [ClosedRange<Int>] = []
        var total = 0
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            let item = part.trimmingCharacters(in: .whitespaces)
            let bounds = item.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
            guard let low = Int(bounds[0]), low >= 0 else {
                throw .invalidOption("\(option) '\(text)': '\(item)' is not a number or a range like 1-5")
            }
            let high: Int
            if bounds.count == 2 {
                guard let h = Int(bounds[1]), h >= low else {
                    throw .invalidOption("\(option) '\(text)': '\(item)' is not a range like 1-5 (low-high, low <= high)")
                }
                high = h
            } else {
                high = low
            }
            // high - low + 1 values; high - low cannot overflow (0 <= low <= high).
            guard high - low < limit - total else {
                throw .invalidOption("\(option) '\(text)': more than \(limit) values; a sweep has at most \(SweepPlan.maximumRuns) runs")
            }
            total += high - low + 1
            ranges.append(low...high)
        }
        var values: [Int] = [], seen = Set<Int>()
        values.reserveCapacity(total)
        for range in ranges {
            for v in range where seen.insert(v).inserted { values.append(v) }
        }
        return values
    }
}

/// One run of a sweep: the swept values and where the run lives under the sweep's output.
public struct SweepRun: Codable, Sendable, Equatable {
    public var method: TrainingMethod
    /// Test fold of the patient-wise folds (`--test-fold`), or nil for the official split.
    public var testFold: Int?
    public var seed: UInt64

    public init(method: TrainingMethod, testFold: Int?, seed: UInt64) {
        self.method = method
        self.testFold = testFold
        self.seed = seed
    }

    /// `<method>/fold-<k>/seed-<s>`, or `<method>/official/seed-<s>` on the official split.
    public var relativeDirectory: String {
        "\(method.rawValue)/\(testFold.map { "fold-\($0)" } ?? "official")/seed-\(seed)"
    }
}

/// The runs that lists of methods, test folds and seeds expand to: every combination, in the
/// order method, fold, seed. The order is the sweep index used by `--sweep-index`, Slurm array
/// task ids and Kubernetes completion indices, so it must never depend on anything else.
public struct SweepPlan: Codable, Sendable, Equatable {
    public var methods: [TrainingMethod]
    public var testFolds: [Int?]
    public var seeds: [UInt64]

    public init(methods: [TrainingMethod], testFolds: [Int?], seeds: [UInt64]) {
        self.methods = methods
        self.testFolds = testFolds
        self.seeds = seeds
    }

    /// Parses the command line's lists (`--method ce,patchmix`, `--test-fold 0-4`, `--seed 1-5`).
    public static func parse(methods: String, testFolds: String?, seeds: String) throws(TrainingError) -> SweepPlan {
        var parsedMethods: [TrainingMethod] = []
        for name in methods.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) {
            guard let m = TrainingMethod(rawValue: name) else {
                throw .invalidOption("--method '\(methods)': unknown method '\(name)' (\(TrainingMethod.names))")
            }
            if !parsedMethods.contains(m) { parsedMethods.append(m) }
        }
        guard !parsedMethods.isEmpty else { throw .invalidOption("--method: no method given") }
        var folds: [Int?] = [nil]
        if let testFolds {
            let values = try IntegerList.parse(testFolds, option: "--test-fold")
            if let bad = values.first(where: { !FoldSelection.folds.contains($0) }) {
                throw .invalidOption("--test-fold \(bad): folds are \(FoldSelection.folds.lowerBound)-\(FoldSelection.folds.upperBound)")
            }
            folds = values
        }
        let seedValues = try IntegerList.parse(seeds, option: "--seed").map { UInt64($0) }
        let plan = SweepPlan(methods: parsedMethods, testFolds: folds, seeds: seedValues)
        guard plan.count <= maximumRuns else {
            throw .invalidOption("\(parsedMethods.count) methods x \(folds.count) folds x \(seedValues.count) seeds = \(plan.count) runs; a sweep has at most \(maximumRuns) runs")
        }
        return plan
    }

    /// The most runs one sweep may hold. Every run is a directory, a child process or a cluster
    /// task, and the command checks every run's options before starting: far beyond any study
    /// (the paper's is 3 methods x 5 folds x 5 seeds = 75), still instant to plan. Slurm's own
    /// default `MaxArraySize` (1001) is lower: a larger `--emit slurm` array needs that raised.
    public static let maximumRuns = 10_000

    /// Every run, in sweep-index order.
    public var runs: [SweepRun] {
        methods.flatMap { m in testFolds.flatMap { f in seeds.map { SweepRun(method: m, testFold: f, seed: $0) } } }
    }

    public var count: Int { methods.count * testFolds.count * seeds.count }

    /// The run at `index` (`--sweep-index`), with a message naming the valid range otherwise.
    public func run(at index: Int) throws(TrainingError) -> SweepRun {
        guard (0..<count).contains(index) else {
            throw .invalidOption("--sweep-index \(index) is outside this sweep's 0-\(count - 1) (\(count) runs)")
        }
        return runs[index]
    }
}

/// Where a run of a sweep stands on disk: what a rerun of the sweep does with it.
public enum RunState: Equatable, Sendable {
    /// `result.json` exists: the run is finished and is left untouched.
    case finished
    /// `last.pth` exists but no result: the run resumes from its last checkpoint.
    case interrupted
    /// Nothing yet: the run starts.
    case notStarted

    public init(directory: String) {
        let fm = FileManager.default
        if fm.fileExists(atPath: (directory as NSString).appendingPathComponent(RunResult.fileName)) {
            self = .finished
        } else if fm.fileExists(atPath: (directory as NSString).appendingPathComponent("last.pth")) {
            self = .interrupted
        } else {
            self = .notStarted
        }
    }
}
