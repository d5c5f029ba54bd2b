import FeatureStore

/// A label task of a corpus with tasks (SPRSound's 1-1, 1-2, 2-1, 2-2) as training uses it: the
/// feature set's own description (name, level, classes), with which classes count toward the
/// challenge's sensitivity.
public typealias TaskDefinition = FeatureSetIndex.LabelTask

extension TaskDefinition {
    /// The first class index that counts as adventitious (toward SE): 1 for event tasks (every
    /// non-Normal class); for record tasks 2, so that Poor Quality (index 1 in 2-1 and 2-2) counts
    /// in neither SE nor SP. Found by name ("Poor Quality" right after Normal), so a record task
    /// without such a class counts every non-Normal class, as an event task does.
    public var adventitiousFrom: Int {
        classes.count > 2 && classes[1].caseInsensitiveCompare(Self.poorQuality) == .orderedSame ? 2 : 1
    }

    public static let poorQuality = "Poor Quality"
}

/// The SPRSound challenge's metric over a confusion matrix (rows = truth, columns = prediction,
/// class 0 = Normal), in percent: SP = recall of Normal; SE = exact-class hits among the rows of
/// the adventitious classes (`adventitiousFrom` on); AS = (SE + SP) / 2; HS = 2 SE SP / (SE + SP)
/// (0 when both are 0); Score = (AS + HS) / 2. Rows of the classes between Normal and the
/// adventitious ones (Poor Quality) count in neither SE nor SP; predictions of Poor Quality for a
/// Normal or adventitious row are misses. A side without rows scores 0 (as ICBHIScore).
public struct TaskScore: Codable, Sendable, Equatable {
    public var normalHits: Int, normalCount: Int
    public var adventitiousHits: Int, adventitiousCount: Int

    public init(normalHits: Int, normalCount: Int, adventitiousHits: Int, adventitiousCount: Int) {
        self.normalHits = normalHits
        self.normalCount = normalCount
        self.adventitiousHits = adventitiousHits
        self.adventitiousCount = adventitiousCount
    }

    /// The metric of `matrix` with SE over the classes from `adventitiousFrom` on. `anyAdventitious`:
    /// an adventitious row predicted as any adventitious class is a hit (the task's 2-class view).
    public init(_ matrix: [[Int]], adventitiousFrom first: Int, anyAdventitious: Bool = false) {
        let n = matrix.count
        precondition(n >= 2 && (1..<n).contains(first) && matrix.allSatisfy { $0.count == n }, "not a square matrix of 2+ classes")
        var hits = 0, count = 0
        for t in first..<n {
            count += matrix[t].reduce(0, +)
            hits += anyAdventitious ? matrix[t][first...].reduce(0, +) : matrix[t][t]
        }
        self.init(normalHits: matrix[0][0], normalCount: matrix[0].reduce(0, +), adventitiousHits: hits, adventitiousCount: count)
    }

    /// SP and SE are ICBHI's rates over these counts (the same formulas and zero rule).
    private var rates: ICBHIScore {
        ICBHIScore(normalHits: normalHits, normalCount: normalCount, abnormalHits: adventitiousHits, abnormalCount: adventitiousCount)
    }
    public var specificity: Double { rates.specificity }
    public var sensitivity: Double { rates.sensitivity }
    /// AS: ICBHI's score.
    public var averageScore: Double { rates.score }
    public var harmonicScore: Double {
        let (se, sp) = (sensitivity, specificity)
        return se + sp == 0 ? 0 : 2 * se * sp / (se + sp)
    }
    public var score: Double { (averageScore + harmonicScore) / 2 }
}

/// One test split's evaluation under a task's metric: what log.jsonl, result.json and
/// `train report` carry per split (inter_test, intra_test, test2023, ...).
public struct SplitEvaluation: Codable, Sendable, Equatable {
    public var split: String
    public var rows: Int
    public var sensitivity: Double
    public var specificity: Double
    public var averageScore: Double
    public var harmonicScore: Double
    public var score: Double
    /// The 2-class view (an adventitious row predicted as any adventitious class is a hit): its
    /// SE and Score (its SP is `specificity`).
    public var sensitivity2: Double
    public var score2: Double
    public var confusion: [[Int]]

    public init(split: String, confusion: [[Int]], task: TaskDefinition) {
        let s = TaskScore(confusion, adventitiousFrom: task.adventitiousFrom)
        self.split = split
        rows = confusion.joined().reduce(0, +)
        sensitivity = s.sensitivity
        specificity = s.specificity
        averageScore = s.averageScore
        harmonicScore = s.harmonicScore
        score = s.score
        let any = TaskScore(confusion, adventitiousFrom: task.adventitiousFrom, anyAdventitious: true)
        sensitivity2 = any.sensitivity
        score2 = any.score
        self.confusion = confusion
    }
}

/// Which test splits a task's best epoch is chosen on, and how: the mean Score of the 2022
/// patient tests (`inter_test`, `intra_test`) that the feature set holds, each weighted equally
/// (the challenge reports them side by side; inter-patient generalisation must not be outweighed
/// by the larger intra-patient event count); when it holds neither, every test split.
public enum TaskSelection {
    public static let patientTests = ["inter_test", "intra_test"]
    /// Splits that are never a test: the training split and rows without a split.
    public static let notTests: Set<String> = ["train", "unassigned"]

    /// The test splits of a feature set's `splits`: every split but train and unassigned, the
    /// patient tests first, then the others in name order (test2023, test2024, ...).
    public static func testSplits(_ splits: [String]) -> [String] {
        let tests = Set(splits).subtracting(notTests)
        return patientTests.filter(tests.contains) + tests.subtracting(patientTests).sorted()
    }

    /// The splits of `tests` the best epoch is chosen on.
    public static func selectionSplits(_ tests: [String]) -> [String] {
        let patient = tests.filter(patientTests.contains)
        return patient.isEmpty ? tests : patient
    }

    /// The mean of `pick` over the selection splits of `evaluations`.
    public static func mean(_ evaluations: [SplitEvaluation], _ pick: (SplitEvaluation) -> Double) -> Double {
        let chosen = selectionSplits(evaluations.map(\.split))
        let values = evaluations.filter { chosen.contains($0.split) }.map(pick)
        return values.isEmpty ? 0 : values.reduce(0, +) / Double(values.count)
    }

    /// The sum of the selection splits' confusion matrices.
    public static func pooledConfusion(_ evaluations: [SplitEvaluation]) -> [[Int]] {
        let chosen = selectionSplits(evaluations.map(\.split))
        var sum: [[Int]] = []
        for e in evaluations where chosen.contains(e.split) {
            if sum.isEmpty { sum = e.confusion.map { $0.map { _ in 0 } } }
            for t in e.confusion.indices { for p in e.confusion[t].indices { sum[t][p] += e.confusion[t][p] } }
        }
        return sum
    }
}
