/// The ICBHI metric (REFERENCE.md "Metric") over a confusion matrix
/// (`matrix[true][predicted]`, class 0 = normal, classes >= 1 abnormal).
public struct ConfusionMatrix: Codable, Sendable, Equatable {
    public let classes: Int
    public private(set) var matrix: [[Int]]

    public init(classes: Int) {
        self.classes = classes
        matrix = Array(repeating: Array(repeating: 0, count: classes), count: classes)
    }

    public mutating func add(label: Int, prediction: Int) {
        precondition(label >= 0 && label < classes && prediction >= 0 && prediction < classes)
        matrix[label][prediction] += 1
    }

    public var total: Int { matrix.joined().reduce(0, +) }

    /// `counts[c]`: cycles of class c; `hits[c]`: those predicted c.
    public var counts: [Int] { matrix.map { $0.reduce(0, +) } }
    public var hits: [Int] { (0..<classes).map { matrix[$0][$0] } }

    /// Sp, Se, score with exact-class hits (the n-class metric).
    public var score: ICBHIScore {
        let c = counts, h = hits
        return ICBHIScore(normalHits: h[0], normalCount: c[0],
                          abnormalHits: h.dropFirst().reduce(0, +), abnormalCount: c.dropFirst().reduce(0, +))
    }

    /// The 2-class view: an abnormal cycle predicted as any abnormal class is a hit.
    public var twoClassScore: ICBHIScore {
        var hitsAbnormal = 0
        for t in 1..<classes { for p in 1..<classes { hitsAbnormal += matrix[t][p] } }
        let c = counts
        return ICBHIScore(normalHits: matrix[0][0], normalCount: c[0],
                          abnormalHits: hitsAbnormal, abnormalCount: c.dropFirst().reduce(0, +))
    }
}

/// Specificity, sensitivity and their mean, in percent (0 when a side has no cycles).
public struct ICBHIScore: Codable, Sendable, Equatable {
    public var normalHits: Int, normalCount: Int
    public var abnormalHits: Int, abnormalCount: Int

    public init(normalHits: Int, normalCount: Int, abnormalHits: Int, abnormalCount: Int) {
        self.normalHits = normalHits
        self.normalCount = normalCount
        self.abnormalHits = abnormalHits
        self.abnormalCount = abnormalCount
    }

    public var specificity: Double { normalCount == 0 ? 0 : Double(normalHits) / Double(normalCount) * 100 }
    public var sensitivity: Double { abnormalCount == 0 ? 0 : Double(abnormalHits) / Double(abnormalCount) * 100 }
    public var score: Double { (specificity + sensitivity) / 2 }

    /// Best-epoch rule: an epoch is eligible only when Se > 5.
    public var eligibleForBest: Bool { sensitivity > 5 }
}

/// Tracks the best epoch: highest score among epochs with Se > 5 (the first wins ties); for a
/// label task (`--task`), highest selection Score (`TaskSelection`), every epoch eligible.
public struct BestEpochTracker: Codable, Sendable, Equatable {
    public private(set) var epoch: Int?
    public private(set) var best: ICBHIScore?
    /// A task run's best selection Score (nil for ICBHI runs, and absent from their checkpoints).
    public private(set) var bestTaskScore: Double?

    public init() {}

    /// Returns true when `score` of `epoch` becomes the new best.
    public mutating func offer(epoch e: Int, score s: ICBHIScore) -> Bool {
        guard s.eligibleForBest else { return false }
        if let b = best, s.score <= b.score { return false }
        epoch = e
        best = s
        return true
    }

    /// A task run's rule: the highest selection Score wins, the first among equals. No Se gate:
    /// HS is 0 when SE is, so a model that calls every row Normal scores at most 25 (SP 100).
    public mutating func offer(epoch e: Int, taskScore s: Double) -> Bool {
        if let b = bestTaskScore, s <= b { return false }
        epoch = e
        bestTaskScore = s
        return true
    }
}
