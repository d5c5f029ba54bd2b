import Foundation
import ICBHI
import Manifests

/// What `prep ingest` did, for the closing table and for tests.
public struct IngestReport: Sendable {
    public let recordings: [RecordingRecord]
    public let cycles: [CycleRecord]
    public let problems: [Problem]
    public let reused: Int
    public let processed: Int
    public let manifestsChanged: Bool
    public let seconds: Double
    public let options: IngestOptions

    public var census: CycleCensus {
        var census = CycleCensus()
        for cycle in cycles { census.add(cycle.label, in: cycle.split) }
        return census
    }

    public var skipped: [Problem] { problems.filter { $0.severity == .skipped } }
    public var notices: [Problem] { problems.filter { $0.severity == .notice } }

    /// Nothing was decoded and nothing written.
    public var wasNoOp: Bool { processed == 0 && !manifestsChanged }

    /// The closing summary: work done, cycles per class and split, every skipped item.
    public func summary() -> String {
        var lines: [String] = []
        if wasNoOp {
            lines.append("ingest: up to date, nothing to do (\(recordings.count) recordings unchanged, \(String(format: "%.2f", seconds)) s)")
        } else {
            lines.append("ingest: \(recordings.count) recordings (\(processed) processed, \(reused) unchanged) -> \(cycles.count) cycles in \(String(format: "%.2f", seconds)) s [resampler \(options.resampler.rawValue), jobs \(options.jobs)]")
        }
        lines.append("")
        lines.append(Self.classTable(census))
        if !notices.isEmpty {
            lines.append("")
            lines.append("notices (\(notices.count)):")
            lines += notices.map { "  \($0)" }
        }
        if !skipped.isEmpty {
            lines.append("")
            lines.append("skipped (\(skipped.count)):")
            lines += skipped.map { "  \($0)" }
        }
        lines.append("")
        lines.append("manifests: \(options.manifestDirectory)/recordings.csv, \(options.manifestDirectory)/cycles.csv; audio: \(options.cacheDirectory)/audio16k/\(options.resampler.rawValue)/")
        return lines.joined(separator: "\n")
    }

    /// Cycles per class (rows) and split (columns), with totals.
    static func classTable(_ census: CycleCensus) -> String {
        let splits = Split.allCases.filter { census.total(in: $0) > 0 }
        var rows = [["class"] + splits.map(\.rawValue) + ["total"]]
        for label in CycleLabel.allCases {
            let counts = splits.map { census.byClass(in: $0)[label.rawValue] }
            rows.append([label.name] + counts.map(String.init) + [String(counts.reduce(0, +))])
        }
        rows.append(["total"] + splits.map { String(census.total(in: $0)) } + [String(census.total)])
        return TextTable.render(rows)
    }
}

/// Right-aligned plain-text tables.
enum TextTable {
    static func render(_ rows: [[String]]) -> String {
        let widths = (0..<(rows.first?.count ?? 0)).map { column in rows.map { $0[column].count }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { index, cell in
                let pad = String(repeating: " ", count: widths[index] - cell.count)
                return index == 0 ? cell + pad : pad + cell
            }.joined(separator: "  ")
        }.joined(separator: "\n")
    }
}
