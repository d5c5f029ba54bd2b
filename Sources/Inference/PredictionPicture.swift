import AudioDSP
import Training
import Visualization

/// `predict --png`: a recording's spectrogram (the model's normalised fbank) with the predicted
/// class of every scored span as a coloured band under the time axis, and a legend.
public enum PredictionPicture {
    static let colours = [RGB(120, 190, 120), RGB(240, 150, 40), RGB(60, 120, 230), RGB(220, 40, 40),
                          RGB(150, 80, 200), RGB(40, 170, 170), RGB(140, 100, 60)]   // 7: SPRSound task 1-2
    static let bandHeight = 16

    public static func render(spectrogram: [Float], preprocessing: Preprocessing, outcome: Predictor.Outcome,
                              names: [String], shownSeconds: Double) -> RGBImage {
        let bins = preprocessing.bins
        let frames = spectrogram.count / bins
        let shift = preprocessing.fbank.frameShiftMs / 1000
        let plot = FbankPlot(values: spectrogram, frames: frames, bins: bins, frameShiftSeconds: shift,
                             binCentresHz: preprocessing.fbank.melFilterCentresHz.count == bins
                                ? preprocessing.fbank.melFilterCentresHz : (0..<bins).map(Double.init),
                             title: "\(outcome.recording): predicted \(outcome.unit)s",
                             subtitle: ["band: the predicted class of each \(outcome.unit)" + (outcome.unit == "window" ? " (each from its start until the next begins)" : "")
                                        + (frames * Int((shift * 1000).rounded()) < Int(shownSeconds * 1000) ? "" : ", first \(Int(shownSeconds)) s")])
        let base = plot.render(), layout = plot.layout
        let legendY = base.height + bandHeight + 8
        var image = RGBImage(width: base.width, height: base.height + 2 * bandHeight + 16)
        for y in 0..<base.height { for x in 0..<base.width { image.plot(x: x, y: y, base[x, y]) } }
        let top = base.height + 2
        func x(_ seconds: Double) -> Int {
            layout.plotX + min(layout.plotWidth, max(0, Int(seconds / shift) * layout.pixelsPerFrame))
        }
        for (i, row) in outcome.rows.enumerated() {
            // Overlapping windows: each from its start until the next one starts.
            let end = outcome.unit == "window" && i + 1 < outcome.rows.count ? min(row.end, outcome.rows[i + 1].start) : row.end
            let from = x(row.start), to = x(end)
            guard to > from else { continue }
            image.fill(x: from, y: top, width: to - from, height: bandHeight, with: colours[row.predicted % colours.count])
        }
        var legendX = layout.plotX
        for (c, name) in names.enumerated() {
            image.fill(x: legendX, y: legendY, width: 10, height: 10, with: colours[c % colours.count])
            image.draw(name, x: legendX + 14, y: legendY, color: RGB(32, 32, 32))
            legendX += 14 + BitmapFont.width(of: name) + 16
        }
        return image
    }
}
