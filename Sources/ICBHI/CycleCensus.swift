/// Tallies cycles per split and class, so a run can be checked against `KnownCorpusFacts`.
public struct CycleCensus: Sendable, Equatable {
    /// Cycle counts indexed by split, then by `CycleLabel.rawValue`.
    public private(set) var counts: [Split: [Int]] = [:]

    public init() {}

    /// Counts one cycle.
    public mutating func add(_ label: CycleLabel, in split: Split) {
        counts[split, default: [0, 0, 0, 0]][label.rawValue] += 1
    }

    /// Counts every cycle of one recording.
    public mutating func add(_ cycles: [AnnotatedCycle], in split: Split) {
        for cycle in cycles { add(cycle.label, in: split) }
    }

    /// Per-class counts (normal, crackle, wheeze, both) in one split.
    public func byClass(in split: Split) -> [Int] { counts[split] ?? [0, 0, 0, 0] }

    /// Per-class counts over all splits.
    public var byClass: [Int] {
        Split.allCases.reduce(into: [0, 0, 0, 0]) { total, split in
            for (label, count) in byClass(in: split).enumerated() { total[label] += count }
        }
    }

    /// Number of cycles in one split.
    public func total(in split: Split) -> Int { byClass(in: split).reduce(0, +) }

    /// Number of cycles over all splits.
    public var total: Int { byClass.reduce(0, +) }

    /// Whether the tally is exactly the full corpus with the official split.
    public var matchesKnownCorpus: Bool {
        byClass(in: .train) == KnownCorpusFacts.trainByClass
            && byClass(in: .test) == KnownCorpusFacts.testByClass
            && total(in: .unassigned) == 0
    }
}
