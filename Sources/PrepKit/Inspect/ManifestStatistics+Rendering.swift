import Foundation
import ICBHI

// `prep stats`, the rendering: tables for a terminal, JSON for scripts.
extension ManifestStatistics {
    /// Pretty-printed JSON with sorted keys (stable for scripts and diffs).
    public func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        // Every value is a plain number, string or container: encoding cannot fail.
        let data = try! encoder.encode(self)
        return String(decoding: data, as: UTF8.self)
    }

    /// The tables for a terminal.
    public func table() -> String {
        let splits = Split.allCases.filter { split in
            split != .unassigned || recordings.bySplit[split.rawValue, default: 0] + cycles.bySplit[split.rawValue, default: 0] > 0
        }.map(\.rawValue)
        let classes = CycleLabel.allCases.map(\.name)
        var lines: [String] = []
        lines.append("manifests: \(manifests) (\(recordings.total) recordings, \(cycles.total) cycles)")

        lines.append("")
        lines.append("recordings and cycles per split")
        lines.append(TextTable.render([["split", "recordings", "cycles"]]
            + splits.map { [$0, String(recordings.bySplit[$0, default: 0]), String(cycles.bySplit[$0, default: 0])] }
            + [["total", String(recordings.total), String(cycles.total)]]))

        lines.append("")
        lines.append("cycles per class and split")
        var classRows = [["class"] + splits + ["total"]]
        for name in classes {
            let counts = splits.map { cycles.byClassAndSplit[$0]?[name] ?? 0 }
            classRows.append([name] + counts.map(String.init) + [String(cycles.byClass[name, default: 0])])
        }
        classRows.append(["total"] + splits.map { String(cycles.bySplit[$0, default: 0]) } + [String(cycles.total)])
        lines.append(TextTable.render(classRows))
        lines.append(cycles.matchesOfficialCounts
                     ? "(exactly the official ICBHI 2017 counts)"
                     : "(not the official ICBHI 2017 counts of \(KnownCorpusFacts.cycles) cycles: a subset or another corpus)")

        for (title, key, groups) in [("per device", "device", byDevice), ("per chest location", "location", byLocation)] {
            lines.append("")
            lines.append(title)
            var rows = [[key, "recordings", "cycles"] + classes + splits]
            for name in groups.keys.sorted() {
                let group = groups[name]!
                rows.append([name, String(group.recordings), String(group.cycles)]
                            + classes.map { String(group.byClass[$0, default: 0]) }
                            + splits.map { String(group.bySplit[$0, default: 0]) })
            }
            lines.append(TextTable.render(rows))
        }

        lines.append("")
        if let lengths = cycleSeconds {
            lines.append("cycle length, s (stored 16 kHz cycle: annotation end - start, clamped to the audio)")
            lines.append(TextTable.render([
                ["min", "p5", "p25", "median", "p75", "p95", "max", "mean", "< 0.5 s", "> 8 s"],
                [lengths.min, lengths.p5, lengths.p25, lengths.median, lengths.p75, lengths.p95, lengths.max, lengths.mean]
                    .map { String(format: "%.2f", $0) } + [String(lengths.under0_5s), String(lengths.over8s)],
            ]))
            let widest = max(1, lengths.histogram.map(\.count).max() ?? 1)
            let rows = lengths.histogram.map { bucket in
                [bucket.to.map { "\(Self.format(bucket.from))-\(Self.format($0)) s" } ?? ">= \(Self.format(bucket.from)) s",
                 String(bucket.count)]
            }
            // Bars after the right-aligned counts, left-aligned, 40 characters for the fullest bucket.
            for (line, bucket) in zip(TextTable.render(rows).split(separator: "\n"), lengths.histogram) {
                let bar = String(repeating: "#", count: Int((Double(bucket.count) / Double(widest) * 40).rounded(.up)))
                lines.append(bar.isEmpty ? "  " + line : "  " + line + "  " + bar)
            }
        } else {
            lines.append("cycle length: no cycles")
        }

        lines.append("")
        if problems.recorded {
            lines.append("skipped by ingest: \(problems.skippedFiles.count) file(s), \(problems.skippedCycles.count) cycle(s) or line(s); "
                         + "\(problems.clampedCycles) cycle(s) clamped to the audio; \(problems.notices) other notice(s)")
            for item in problems.skippedFiles { lines.append("  file: \(item.file): \(item.reason)") }
            for item in problems.skippedCycles { lines.append("  cycle: \(item.file)\(item.line.map { ":\($0)" } ?? ""): \(item.reason)") }
        } else {
            lines.append("skipped by ingest: not recorded (no \(manifests)/ingest-problems.csv; rerun `prep ingest` to record it)")
        }

        if !featureSets.isEmpty {
            lines.append("")
            lines.append("feature sets")
            lines.append(TextTable.render([["name", "frames x bins", "normalisation"] + splits]
                + featureSets.map { set in
                    [set.name, "\(set.frames) x \(set.bins)", set.normalisation] + splits.map { String(set.rowsBySplit[$0, default: 0]) }
                }))
        }
        return lines.joined(separator: "\n")
    }

    private static func format(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(value)
    }
}
