import Foundation

/// `curves.svg` beside `log.jsonl`: training loss (left) and Sp / Se / ICBHI score on the test
/// split (right) per epoch. Plain SVG (any browser opens it), redrawn after every epoch.
public enum TrainingCurves {
    public static let fileName = "curves.svg"

    /// The SVG document for `history` (epochs in order).
    public static func svg(_ history: [EpochRecord]) -> String {
        let panelWidth = 420.0, height = 300.0, margin = 48.0
        var body = ""
        let epochs = history.map { Double($0.epoch) }
        let maxEpoch = max(epochs.last ?? 1, 2)
        func x(_ epoch: Double, panel: Int) -> Double {
            Double(panel) * panelWidth + margin + (epoch - 1) / (maxEpoch - 1) * (panelWidth - 2 * margin)
        }
        func panel(_ index: Int, title: String, series: [(name: String, color: String, values: [Double])],
                   range: ClosedRange<Double>) {
            let left = Double(index) * panelWidth + margin, right = Double(index + 1) * panelWidth - margin
            let top = margin, bottom = height - margin
            func y(_ value: Double) -> Double {
                let span = range.upperBound - range.lowerBound
                return bottom - (value - range.lowerBound) / (span > 0 ? span : 1) * (bottom - top)
            }
            body += "<text x=\"\(fmt((left + right) / 2))\" y=\"24\" text-anchor=\"middle\" font-size=\"14\">\(title)</text>\n"
            body += "<rect x=\"\(fmt(left))\" y=\"\(fmt(top))\" width=\"\(fmt(right - left))\" height=\"\(fmt(bottom - top))\" fill=\"none\" stroke=\"#888\"/>\n"
            for tick in 0...4 {
                let value = range.lowerBound + Double(tick) / 4 * (range.upperBound - range.lowerBound)
                body += "<text x=\"\(fmt(left - 6))\" y=\"\(fmt(y(value) + 4))\" text-anchor=\"end\" font-size=\"10\">\(fmt(value))</text>\n"
            }
            for epoch in history.map(\.epoch) {
                body += "<text x=\"\(fmt(x(Double(epoch), panel: index)))\" y=\"\(fmt(bottom + 14))\" text-anchor=\"middle\" font-size=\"10\">\(epoch)</text>\n"
            }
            body += "<text x=\"\(fmt((left + right) / 2))\" y=\"\(fmt(height - 8))\" text-anchor=\"middle\" font-size=\"11\">epoch</text>\n"
            for (offset, line) in series.enumerated() {
                let points = zip(epochs, line.values).map { "\(fmt(x($0, panel: index))),\(fmt(y($1)))" }.joined(separator: " ")
                body += "<polyline class=\"\(line.name)\" fill=\"none\" stroke=\"\(line.color)\" stroke-width=\"2\" points=\"\(points)\"/>\n"
                body += "<text x=\"\(fmt(right - 4))\" y=\"\(fmt(top + 14 + 14 * Double(offset)))\" text-anchor=\"end\" font-size=\"11\" fill=\"\(line.color)\">\(line.name)</text>\n"
            }
        }
        let losses = history.map(\.trainLoss)
        let lossMax = (losses.max() ?? 1) * 1.05
        panel(0, title: "training loss", series: [("loss", "#1f77b4", losses)], range: 0...max(lossMax, 1e-6))
        // A task run's fields hold the selection means (mean Score, SP, SE of inter/intra_test).
        let title = history.contains { $0.tests != nil } ? "test selection mean (%)" : "test split (%)"
        panel(1, title: title, series: [("score", "#d62728", history.map(\.score)),
                                                   ("Sp", "#2ca02c", history.map(\.specificity)),
                                                   ("Se", "#9467bd", history.map(\.sensitivity))], range: 0...100)
        return """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(2 * panelWidth))" height="\(Int(height))" font-family="sans-serif">
        <rect width="100%" height="100%" fill="white"/>
        \(body)</svg>

        """
    }

    /// Writes `curves.svg` into `directory` atomically.
    public static func write(_ history: [EpochRecord], to directory: String) throws {
        let path = (directory as NSString).appendingPathComponent(fileName)
        try Data(svg(history).utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
    }

    private static func fmt(_ value: Double) -> String { String(format: "%.1f", value) }
}
