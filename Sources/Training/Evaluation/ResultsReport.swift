import Durability
import Foundation

/// Mean, sample standard deviation (n - 1) and the values it was computed from.
public struct SampleStatistic: Codable, Sendable, Equatable {
    public var values: [Double]
    public var mean: Double
    /// nil with fewer than two values.
    public var std: Double?

    public init(_ values: [Double]) {
        precondition(!values.isEmpty)
        self.values = values
        mean = values.reduce(0, +) / Double(values.count)
        if values.count > 1 {
            let m = mean
            std = (values.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(values.count - 1)).squareRoot()
        }
    }

    /// `62.37 ± 0.41` (or the mean alone for one value).
    public var formatted: String {
        std.map { String(format: "%.2f ± %.2f", mean, $0) } ?? String(format: "%.2f", mean)
    }
}

/// A paper's published figures (official split, AST pretrained on AudioSet).
public struct PaperFigures: Codable, Sendable, Equatable {
    public var name: String
    public var specificity: Double
    public var sensitivity: Double
    public var score: Double

    /// The published row for a run configured as published (its method's `published`), or nil.
    public static func matching(_ result: RunResult) -> PaperFigures? { result.method.definition.published(result) }
}

extension RunResult {
    /// Configured as the papers' runs: ast-base's recipe and size, AudioSet init, official split,
    /// 4 classes.
    public var isConfiguredAsPublished: Bool {
        let o = options
        let paper = ModelPreset.astBase.model
        return o.preset == ModelPreset.astBase.name && o.model.embedDim == paper.embedDim && o.model.depth == paper.depth
            && testFold == nil && o.initCheckpoint != nil && o.model.numClasses == 4 && o.task == nil
    }
}

/// One row of the results table: every seed of one method on one test fold.
public struct ResultsRow: Codable, Sendable, Equatable {
    public struct Metrics: Codable, Sendable, Equatable {
        public var specificity: SampleStatistic
        public var sensitivity: SampleStatistic
        public var score: SampleStatistic
        public var score2: SampleStatistic
        /// A label task's rows: each test split's statistics (nil for ICBHI).
        public var tests: [SplitMetrics]? = nil
    }

    /// One test split of a label task over the seeds: the challenge's SE, SP, AS, HS, Score.
    public struct SplitMetrics: Codable, Sendable, Equatable {
        public var split: String
        public var sensitivity: SampleStatistic
        public var specificity: SampleStatistic
        public var averageScore: SampleStatistic
        public var harmonicScore: SampleStatistic
        public var score: SampleStatistic

        /// The statistics of `split` over `summaries` (each seed's), nil when a seed lacks it.
        init?(split: String, _ summaries: [EpochSummary]) {
            let evaluations = summaries.compactMap { $0.tests?.first { $0.split == split } }
            guard !evaluations.isEmpty, evaluations.count == summaries.count else { return nil }
            self.split = split
            sensitivity = SampleStatistic(evaluations.map(\.sensitivity))
            specificity = SampleStatistic(evaluations.map(\.specificity))
            averageScore = SampleStatistic(evaluations.map(\.averageScore))
            harmonicScore = SampleStatistic(evaluations.map(\.harmonicScore))
            score = SampleStatistic(evaluations.map(\.score))
        }
    }

    public var method: TrainingMethod
    /// nil: the official split.
    public var testFold: Int?
    public var seeds: [UInt64]
    /// Each seed's best epoch (paper's rule); seeds with no qualifying epoch use their last.
    public var best: Metrics
    public var last: Metrics
    public var bestEpochs: [Int?]
    public var directories: [String]
    public var paper: PaperFigures?
    public var n: Int { seeds.count }
}

/// `results.json`: the table plus what every row has in common.
public struct ResultsTable: Codable, Sendable, Equatable {
    public var featureSet: String?
    public var featureSetID: String?
    public var optionsHash: String
    public var preset: String
    public var epochs: Int
    public var rows: [ResultsRow]
    /// `--task` of a label task's runs (SPRSound); nil for ICBHI.
    public var task: String? = nil
}

/// `train report`: aggregates finished runs (their `result.json`) into one table, refusing to
/// put runs side by side that differ in anything but method, fold and seed.
public enum ResultsReport {
    /// Every `result.json` at or below `directories`, sorted by path.
    public static func findResults(in directories: [String]) throws(TrainingError) -> [(path: String, result: RunResult)] {
        var paths: [String] = []
        let fm = FileManager.default
        for directory in directories {
            var isDirectory: ObjCBool = false
            guard fm.fileExists(atPath: directory, isDirectory: &isDirectory) else {
                throw .nothingToReport("\(directory): no such directory")
            }
            if !isDirectory.boolValue {
                paths.append(directory)
                continue
            }
            if fm.fileExists(atPath: (directory as NSString).appendingPathComponent(RunResult.fileName)) {
                paths.append((directory as NSString).appendingPathComponent(RunResult.fileName))
            }
            guard let walker = fm.enumerator(atPath: directory) else { continue }
            for case let relative as String in walker
            where (relative as NSString).lastPathComponent == RunResult.fileName && relative != RunResult.fileName {
                paths.append((directory as NSString).appendingPathComponent(relative))
            }
        }
        var results: [(String, RunResult)] = []
        for path in Set(paths).sorted() { results.append((path, try RunResult.read(path: path))) }
        guard !results.isEmpty else {
            throw .nothingToReport("no \(RunResult.fileName) under \(directories.joined(separator: ", ")): no finished run to report")
        }
        return results
    }

    /// Groups results by method and fold (rows sorted by method, then fold), seeds within a
    /// row by seed. Throws, naming the runs, when they do not belong in one table.
    public static func table(_ results: [(path: String, result: RunResult)]) throws(TrainingError) -> ResultsTable {
        let first = results[0]
        for (path, r) in results.dropFirst() {
            if r.featureSetID != first.result.featureSetID {
                throw .incompatibleRuns("cannot report together: \(first.path) used feature set \(first.result.featureSet ?? "?") (\(first.result.featureSetID ?? "?")), \(path) used \(r.featureSet ?? "?") (\(r.featureSetID ?? "?"))")
            }
            if r.optionsHash != first.result.optionsHash {
                let fields = r.options.differences(from: first.result.options)
                throw .incompatibleRuns("cannot report together: \(first.path) and \(path) differ in more than method, fold and seed (\(fields.isEmpty ? "options hash" : fields.joined(separator: ", ")))")
            }
        }
        var groups: [String: [(path: String, result: RunResult)]] = [:]
        for item in results {
            groups["\(item.result.method.rawValue)/\(item.result.testFold.map(String.init) ?? "official")", default: []].append(item)
        }
        let methodOrder = TrainingMethod.allCases
        var rows: [ResultsRow] = []
        for (_, items) in groups {
            let sorted = items.sorted { $0.result.seed < $1.result.seed }
            for (a, b) in zip(sorted, sorted.dropFirst()) where a.result.seed == b.result.seed {
                throw .incompatibleRuns("cannot report together: \(a.path) and \(b.path) are the same run (method \(a.result.method.rawValue), seed \(a.result.seed))")
            }
            func metrics(_ pick: (RunResult) -> EpochSummary) -> ResultsRow.Metrics {
                let e = sorted.map { pick($0.result) }
                let splits = e[0].tests.map { tests in tests.compactMap { ResultsRow.SplitMetrics(split: $0.split, e) } }
                return .init(specificity: SampleStatistic(e.map(\.specificity)), sensitivity: SampleStatistic(e.map(\.sensitivity)),
                             score: SampleStatistic(e.map(\.score)), score2: SampleStatistic(e.map(\.score2)), tests: splits)
            }
            let r0 = sorted[0].result
            rows.append(ResultsRow(
                method: r0.method, testFold: r0.testFold, seeds: sorted.map(\.result.seed),
                best: metrics { $0.best ?? $0.last }, last: metrics(\.last),
                bestEpochs: sorted.map { $0.result.best?.epoch },
                directories: sorted.map { ($0.path as NSString).deletingLastPathComponent },
                paper: PaperFigures.matching(r0)))
        }
        rows.sort {
            let (ma, mb) = (methodOrder.firstIndex(of: $0.method)!, methodOrder.firstIndex(of: $1.method)!)
            return ma != mb ? ma < mb : ($0.testFold ?? -1) < ($1.testFold ?? -1)
        }
        return ResultsTable(featureSet: first.result.featureSet, featureSetID: first.result.featureSetID,
                            optionsHash: first.result.optionsHash, preset: first.result.preset,
                            epochs: first.result.epochs, rows: rows, task: first.result.task)
    }

    /// The table as Markdown: best epoch per seed (paper's rule), mean ± sample std over seeds,
    /// per-seed scores, and the paper's figures beside rows configured as the paper's.
    public static func markdown(_ table: ResultsTable) -> String {
        if let task = table.task { return taskMarkdown(table, task: task) }
        var lines = [
            "# Results",
            "",
            "Feature set `\(table.featureSet ?? "?")` (\(table.featureSetID ?? "?")), model `\(table.preset)`, \(table.epochs) epochs, options \(table.optionsHash).",
            "Best epoch per seed by the paper's rule (highest ICBHI score with Se > 5); mean ± sample standard deviation over seeds (n - 1).",
            "",
            "| method | test | n | Sp | Se | Score | 2-class Score | per-seed Score | paper (Sp / Se / Score) |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for row in table.rows {
            let paper = row.paper.map { String(format: "%@: %.2f / %.2f / %.2f", $0.name, $0.specificity, $0.sensitivity, $0.score) } ?? ""
            lines.append("| \(row.method.rawValue) | \(row.testFold.map { "fold \($0)" } ?? "official") | \(row.n) | \(row.best.specificity.formatted) | \(row.best.sensitivity.formatted) | \(row.best.score.formatted) | \(row.best.score2.formatted) | \(perSeedScores(row.seeds, row.best.score)) | \(paper) |")
        }
        lines += ["", "Last epoch:", "", "| method | test | n | Sp | Se | Score |", "|---|---|---|---|---|---|"]
        for row in table.rows {
            lines.append("| \(row.method.rawValue) | \(row.testFold.map { "fold \($0)" } ?? "official") | \(row.n) | \(row.last.specificity.formatted) | \(row.last.sensitivity.formatted) | \(row.last.score.formatted) |")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// A row's per-seed scores: "s1: 80.00, s2: 79.50".
    static func perSeedScores(_ seeds: [UInt64], _ score: SampleStatistic) -> String {
        zip(seeds, score.values).map { String(format: "s%llu: %.2f", $0.0, $0.1) }.joined(separator: ", ")
    }

    /// A label task's table (SPRSound): per method and test split the challenge's SE, SP, AS,
    /// HS and Score at each seed's best epoch, then the selection mean the best epoch was chosen
    /// on; the same at the last epoch.
    static func taskMarkdown(_ table: ResultsTable, task: String) -> String {
        var lines = [
            "# Results",
            "",
            "Feature set `\(table.featureSet ?? "?")` (\(table.featureSetID ?? "?")), task \(task), model `\(table.preset)`, \(table.epochs) epochs, options \(table.optionsHash).",
            "The challenge's metric per test split (SE, SP, AS = (SE + SP) / 2, HS = 2 SE SP / (SE + SP), Score = (AS + HS) / 2; Poor Quality counts in neither SE nor SP). "
                + "Best epoch per seed: highest mean Score over the selection splits (inter_test and intra_test when present, else every test split); "
                + "mean ± sample standard deviation over seeds (n - 1).",
        ]
        func section(_ title: String, _ pick: (ResultsRow) -> ResultsRow.Metrics, perSeed: Bool) {
            lines += ["", title, "", "| method | test | n | SE | SP | AS | HS | Score |" + (perSeed ? " per-seed Score |" : ""),
                      "|---|---|---|---|---|---|---|---|" + (perSeed ? "---|" : "")]
            for row in table.rows {
                let m = pick(row)
                for t in m.tests ?? [] {
                    lines.append("| \(row.method.rawValue) | \(t.split) | \(row.n) | \(t.sensitivity.formatted) | \(t.specificity.formatted) | \(t.averageScore.formatted) | \(t.harmonicScore.formatted) | \(t.score.formatted) |" + (perSeed ? " \(perSeedScores(row.seeds, t.score)) |" : ""))
                }
                lines.append("| \(row.method.rawValue) | selection mean | \(row.n) | \(m.sensitivity.formatted) | \(m.specificity.formatted) |  |  | \(m.score.formatted) |" + (perSeed ? " \(perSeedScores(row.seeds, m.score)) |" : ""))
            }
        }
        section("Best epoch:", \.best, perSeed: true)
        section("Last epoch:", \.last, perSeed: false)
        return lines.joined(separator: "\n") + "\n"
    }

    /// Writes `results.md` and `results.json` into `directory` (atomically); returns their paths.
    @discardableResult
    public static func write(_ table: ResultsTable, to directory: String) throws(TrainingError) -> [String] {
        let md = (directory as NSString).appendingPathComponent("results.md")
        let json = (directory as NSString).appendingPathComponent("results.json")
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try AtomicFile.write(Data(markdown(table).utf8), to: md)
            try AtomicFile.writeJSON(table, to: json)
        } catch let error as StoreError {
            throw .writeFailed("cannot write the results: \(error)")   // names the file
        } catch {
            throw .writeFailed("cannot write the results into \(directory): \(PlainErrors.file(error))")
        }
        return [md, json]
    }
}
