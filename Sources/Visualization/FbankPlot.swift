import Foundation

/// Draws a filterbank (or any frames x bins matrix) as a picture: bins up (lowest at the bottom),
/// time to the right, values through a perceptual colour map, with axes labelled in seconds and
/// hertz, a title, a colour bar and optional vertical markers.
public struct FbankPlot: Sendable {
    /// Row-major values `[frame][bin]`.
    public var values: [Float]
    public var frames: Int
    public var bins: Int
    /// Seconds between the starts of consecutive frames (Kaldi `frame_shift`).
    public var frameShiftSeconds: Double
    /// Centre frequency of each bin, Hz, increasing (tick labels; the y axis is in bins).
    public var binCentresHz: [Double]
    public var title: String
    /// Lines under the title, in the small font.
    public var subtitle: [String]
    /// Dashed vertical lines at the given times, each with a short label.
    public var markers: [(seconds: Double, label: String)]
    public var colorMap: ColorMap
    /// The value range mapped onto the colour map (default: `robustRange`).
    public var range: ClosedRange<Float>?

    public init(values: [Float], frames: Int, bins: Int, frameShiftSeconds: Double, binCentresHz: [Double],
                title: String, subtitle: [String] = [], markers: [(seconds: Double, label: String)] = [],
                colorMap: ColorMap = .viridis, range: ClosedRange<Float>? = nil) {
        precondition(frames > 0 && bins > 0 && values.count == frames * bins, "values must hold frames x bins")
        precondition(binCentresHz.count == bins, "one centre frequency per bin")
        self.values = values
        self.frames = frames
        self.bins = bins
        self.frameShiftSeconds = frameShiftSeconds
        self.binCentresHz = binCentresHz
        self.title = title
        self.subtitle = subtitle
        self.markers = markers
        self.colorMap = colorMap
        self.range = range
    }

    /// Where everything goes, in pixels: the plot area and its scale.
    public struct Layout: Sendable, Equatable {
        public let width: Int
        public let height: Int
        /// Top-left corner and size of the data area.
        public let plotX: Int
        public let plotY: Int
        public let plotWidth: Int
        public let plotHeight: Int
        public let pixelsPerFrame: Int
        public let pixelsPerBin: Int
        public let colorBarX: Int

        /// Leftmost pixel column of a frame.
        public func x(frame: Int) -> Int { plotX + frame * pixelsPerFrame }
        /// Topmost pixel row of a bin (bin 0 is the bottom row).
        public func y(bin: Int, of bins: Int) -> Int { plotY + (bins - 1 - bin) * pixelsPerBin }
    }

    static let margin = (left: 62, right: 78, top: 12, bottom: 38)
    static let titleScale = 2
    static let colorBarWidth = 14

    /// The layout for this plot: at least ~800 x ~256 data pixels, integer pixels per cell.
    public var layout: Layout {
        let pixelsPerFrame = max(1, 800 / frames)
        let pixelsPerBin = max(1, 256 / bins)
        let plotWidth = frames * pixelsPerFrame, plotHeight = bins * pixelsPerBin
        let titleHeight = BitmapFont.lineHeight * Self.titleScale + subtitle.count * BitmapFont.lineHeight + 8
        let plotX = Self.margin.left, plotY = Self.margin.top + titleHeight
        let width = max(plotX + plotWidth + Self.margin.right,
                        plotX + BitmapFont.width(of: title, scale: Self.titleScale) + 8,
                        subtitle.map { plotX + BitmapFont.width(of: $0) + 8 }.max() ?? 0)
        return Layout(width: width, height: plotY + plotHeight + Self.margin.bottom, plotX: plotX, plotY: plotY,
                      plotWidth: plotWidth, plotHeight: plotHeight, pixelsPerFrame: pixelsPerFrame,
                      pixelsPerBin: pixelsPerBin, colorBarX: plotX + plotWidth + 12)
    }

    /// From the 1st percentile to the maximum: empty mel filters (constant log(FLT_EPSILON)) and
    /// other rare lows would otherwise squash the contrast of everything else.
    public var robustRange: ClosedRange<Float> {
        let finite = values.filter(\.isFinite).sorted()
        guard let last = finite.last else { return 0...1 }
        let low = finite[min(finite.count - 1, finite.count / 100)]
        return low < last ? low...last : (last - 0.5)...(last + 0.5)
    }

    /// Renders the picture.
    public func render() -> RGBImage {
        let layout = layout
        let range = self.range ?? robustRange
        let ink = RGB(32, 32, 32), grey = RGB(96, 96, 96)
        var image = RGBImage(width: layout.width, height: layout.height)

        // Title and subtitle.
        var textY = Self.margin.top
        image.draw(title, x: layout.plotX, y: textY, scale: Self.titleScale, color: ink)
        textY += BitmapFont.lineHeight * Self.titleScale
        for line in subtitle {
            image.draw(line, x: layout.plotX, y: textY, color: grey)
            textY += BitmapFont.lineHeight
        }

        // Data: frame f, bin b -> a block of pixels, bin 0 at the bottom.
        let span = Double(range.upperBound - range.lowerBound)
        for frame in 0..<frames {
            for bin in 0..<bins {
                let value = Double(values[frame * bins + bin])
                let color = colorMap.color(at: (value - Double(range.lowerBound)) / span)
                image.fill(x: layout.x(frame: frame), y: layout.y(bin: bin, of: bins),
                           width: layout.pixelsPerFrame, height: layout.pixelsPerBin, with: color)
            }
        }
        image.strokeRectangle(x: layout.plotX - 1, y: layout.plotY - 1, width: layout.plotWidth + 2,
                              height: layout.plotHeight + 2, ink)

        drawTimeAxis(&image, layout, ink)
        drawFrequencyAxis(&image, layout, ink)
        drawColorBar(&image, layout, range, ink)

        for marker in markers {
            let x = layout.plotX + Int((marker.seconds / frameShiftSeconds * Double(layout.pixelsPerFrame)).rounded())
            guard x > layout.plotX, x < layout.plotX + layout.plotWidth else { continue }
            image.verticalLine(x: x, y: layout.plotY, length: layout.plotHeight, .white, dash: 4)
            image.draw(marker.label, x: min(x + 3, layout.plotX + layout.plotWidth - BitmapFont.width(of: marker.label) - 2),
                       y: layout.plotY + 3, color: .white)
        }
        return image
    }

    private func drawTimeAxis(_ image: inout RGBImage, _ layout: Layout, _ ink: RGB) {
        let seconds = Double(frames) * frameShiftSeconds
        let step = Self.niceStep(seconds / 8)
        let bottom = layout.plotY + layout.plotHeight + 1
        var t = 0.0
        while t <= seconds + 1e-9 {
            let x = layout.plotX + Int((t / frameShiftSeconds * Double(layout.pixelsPerFrame)).rounded())
            if x <= layout.plotX + layout.plotWidth {
                image.verticalLine(x: x, y: bottom, length: 4, ink)
                let label = Self.format(t)
                image.draw(label, x: x - BitmapFont.width(of: label) / 2, y: bottom + 6, color: ink)
            }
            t += step
        }
        let axis = "time (s)"
        image.draw(axis, x: layout.plotX + (layout.plotWidth - BitmapFont.width(of: axis)) / 2, y: bottom + 20, color: ink)
    }

    private func drawFrequencyAxis(_ image: inout RGBImage, _ layout: Layout, _ ink: RGB) {
        // Ticks at round frequencies, placed by interpolating between bin centres.
        let candidates: [Double] = [50, 100, 200, 300, 500, 1000, 2000, 3000, 4000, 5000, 6000, 8000, 10000, 12000,
                                    16000, 20000]
        var lastY = Int.max
        for hz in candidates {
            guard let position = Self.binPosition(of: hz, centres: binCentresHz) else { continue }
            let y = layout.plotY + layout.plotHeight - Int(((position + 0.5) * Double(layout.pixelsPerBin)).rounded())
            guard lastY - y >= BitmapFont.lineHeight + 2 else { continue }
            lastY = y
            image.horizontalLine(x: layout.plotX - 5, y: y, length: 4, ink)
            let label = Self.format(hz)
            image.draw(label, x: layout.plotX - 7 - BitmapFont.width(of: label), y: y - BitmapFont.glyphHeight / 2, color: ink)
        }
        let axis = "mel bin centre (Hz)"
        image.draw(axis, x: 6, y: layout.plotY + (layout.plotHeight + BitmapFont.width(of: axis)) / 2, color: ink, vertical: true)
    }

    private func drawColorBar(_ image: inout RGBImage, _ layout: Layout, _ range: ClosedRange<Float>, _ ink: RGB) {
        let x = layout.colorBarX, height = layout.plotHeight
        for row in 0..<height {
            let fraction = Double(height - 1 - row) / Double(max(1, height - 1))
            image.horizontalLine(x: x, y: layout.plotY + row, length: Self.colorBarWidth, colorMap.color(at: fraction))
        }
        image.strokeRectangle(x: x - 1, y: layout.plotY - 1, width: Self.colorBarWidth + 2, height: height + 2, ink)
        for (fraction, value) in [(1.0, range.upperBound), (0.5, (range.lowerBound + range.upperBound) / 2), (0.0, range.lowerBound)] {
            let y = layout.plotY + Int((Double(height - 1) * (1 - fraction)).rounded())
            image.horizontalLine(x: x + Self.colorBarWidth + 1, y: y, length: 3, ink)
            image.draw(String(format: "%.2f", value), x: x + Self.colorBarWidth + 6, y: y - BitmapFont.glyphHeight / 2, color: ink)
        }
    }

    /// Fractional bin index of `hz` by linear interpolation between centres; nil outside them.
    static func binPosition(of hz: Double, centres: [Double]) -> Double? {
        guard let first = centres.first, let last = centres.last, hz >= first, hz <= last else { return nil }
        guard centres.count > 1 else { return 0 }
        for index in 1..<centres.count where hz <= centres[index] {
            let low = centres[index - 1], high = centres[index]
            return Double(index - 1) + (high > low ? (hz - low) / (high - low) : 0)
        }
        return Double(centres.count - 1)
    }

    /// 1, 2 or 5 times a power of ten, at least `rough`.
    static func niceStep(_ rough: Double) -> Double {
        guard rough > 0 else { return 1 }
        let power = pow(10, floor(log10(rough)))
        for factor in [1.0, 2, 5, 10] where factor * power >= rough { return factor * power }
        return 10 * power
    }

    /// Compact tick labels: "2", "0.5", "1000".
    static func format(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(format: "%g", value)
    }
}
