import Foundation
import Visualization
import XCTest

/// PNG through libpng both ways, the colour map, the bitmap font and the fbank plot layout.
final class VisualizationTests: XCTestCase {
    private var directory: String!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("viz-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        if let directory { try? FileManager.default.removeItem(atPath: directory) }
    }

    private func gradient(width: Int, height: Int) -> RGBImage {
        var image = RGBImage(width: width, height: height)
        for y in 0..<height {
            for x in 0..<width { image[x, y] = RGB(UInt8(x * 255 / (width - 1)), UInt8(y * 255 / (height - 1)), UInt8((x + y) % 256)) }
        }
        return image
    }

    /// A PNG written by libpng decodes (libpng's reader) to the same pixels; the same image gives
    /// the same bytes (no timestamp), and the file starts with the PNG signature.
    func testPNGRoundTripIsLosslessAndDeterministic() throws {
        let image = gradient(width: 301, height: 77)
        let first = directory + "/a.png", second = directory + "/b.png"
        try PNGFile.write(image, to: first)
        try PNGFile.write(image, to: second)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: first))
        XCTAssertEqual(Array(bytes.prefix(8)), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        XCTAssertEqual(bytes, try Data(contentsOf: URL(fileURLWithPath: second)), "same image, same bytes")
        let (decoded, header) = try PNGFile.read(first)
        XCTAssertEqual(header.width, 301)
        XCTAssertEqual(header.height, 77)
        XCTAssertTrue(header.isColour)
        XCTAssertFalse(header.hasAlpha)
        XCTAssertEqual(decoded, image)
        XCTAssertTrue(PNGFile.libraryVersion.hasPrefix("1.6"), PNGFile.libraryVersion)
    }

    /// libpng's own messages come back as typed errors naming the function and the file.
    func testPNGErrorsCarryLibpngMessages() throws {
        let notPNG = directory + "/not.png"
        try Data("hello, not a PNG".utf8).write(to: URL(fileURLWithPath: notPNG))
        XCTAssertThrowsError(try PNGFile.read(notPNG)) { error in
            let error = error as? PNGError
            XCTAssertEqual(error?.function, "png_image_begin_read_from_file")
            XCTAssertEqual(error?.path, notPNG)
            XCTAssertFalse(error?.message.isEmpty ?? true)
        }
        XCTAssertThrowsError(try PNGFile.read(directory + "/missing.png"))
        XCTAssertThrowsError(try PNGFile.write(gradient(width: 4, height: 4), to: directory + "/no/such/dir/x.png")) { error in
            XCTAssertEqual((error as? PNGError)?.function, "png_image_write_to_file")
        }
    }

    /// Viridis: 256 colours (254 distinct in 8 bits) from dark purple to yellow, lightness rising throughout
    /// (Rec. 709 luminance never drops by more than 1 of 255 between neighbours, and rises overall).
    func testViridisIsAMonotonicLightnessTable() {
        let map = ColorMap.viridis
        XCTAssertEqual(map.table.count, 256)
        XCTAssertEqual(map.table.first, RGB(hex: 0x440154))
        XCTAssertEqual(map.table.last, RGB(hex: 0xFDE725))
        XCTAssertGreaterThanOrEqual(Set(map.table).count, 254, "8-bit rounding merges two neighbouring pairs")
        for (a, b) in zip(map.table, map.table.dropFirst()) { XCTAssertGreaterThan(b.luminance, a.luminance - 1, "\(a) -> \(b)") }
        XCTAssertGreaterThan(map.table.last!.luminance - map.table.first!.luminance, 150)
        for index in [0, 1, 100, 200, 255] {
            XCTAssertEqual(map.nearestIndex(to: map.table[index]), index)
        }
        XCTAssertEqual(map.index(at: -3), 0)
        XCTAssertEqual(map.index(at: 7), 255)
        XCTAssertEqual(map.index(at: .nan), 0)
        XCTAssertEqual(map.index(at: 0.5), 128)
    }

    /// Every printable ASCII character has its own glyph inside the 5x7 box; text is drawn in the
    /// given colour at the given scale, upright or rotated.
    func testBitmapFontCoversASCIIAndDraws() {
        let printable = (32...126).map { Character(UnicodeScalar(UInt8($0))) }
        let missing = printable.filter { !BitmapFont.covers($0) }
        XCTAssertEqual(String(missing), "$&`{}", "characters drawn as a box")
        var seen: [[UInt8]: Character] = [:]
        for character in printable where BitmapFont.covers(character) {
            let glyph = BitmapFont.glyph(character)
            XCTAssertEqual(glyph.count, "gjpqy".contains(character) ? 9 : 7, "\(character)")
            XCTAssertTrue(glyph.allSatisfy { $0 < 32 }, "\(character) wider than 5 columns")
            if character != " " { XCTAssertTrue(glyph.contains { $0 != 0 }, "\(character) is blank") }
            if let other = seen[glyph] { XCTFail("\(character) and \(other) share a glyph") }
            seen[glyph] = character
        }
        XCTAssertEqual(BitmapFont.width(of: "Hz", scale: 2), 22)

        var image = RGBImage(width: 40, height: 20)
        image.draw("1", x: 2, y: 3, scale: 2, color: .black)
        // "1": its stem is the middle column, scaled 2x: pixels x 6-7, rows 3-16.
        XCTAssertEqual(image[6, 10], .black)
        XCTAssertEqual(image[7, 15], .black)
        XCTAssertEqual(image[2, 10], .white)
        XCTAssertEqual(image[6, 18], .white, "nothing below the glyph")

        var rotated = RGBImage(width: 20, height: 40)
        rotated.draw("-", x: 2, y: 30, color: .black, vertical: true)
        // "-" is the middle row; rotated anticlockwise it becomes a vertical stroke at x = 2 + 3.
        XCTAssertEqual((0..<40).filter { rotated[5, $0] == .black }.count, 5)
        XCTAssertEqual((0..<40).filter { rotated[5, $0] == .black }.max(), 29)
    }

    /// The plot puts bin 0 at the bottom and frame 0 at the left, maps the maximum to the top of
    /// the colour map, labels the axes, and sizes itself from the data.
    func testFbankPlotOrientationAndScale() throws {
        let frames = 400, bins = 64
        var values = [Float](repeating: -1, count: frames * bins)
        for frame in 0..<frames { values[frame * bins + 10] = 3 }          // a "wheeze" at bin 10
        for bin in 0..<bins { values[100 * bins + bin] = 2 }               // a "crackle" at frame 100
        let centres = (0..<bins).map { 100.0 * Double($0 + 1) }
        let plot = FbankPlot(values: values, frames: frames, bins: bins, frameShiftSeconds: 0.01, binCentresHz: centres,
                             title: "test#1 wheeze", subtitle: ["synthetic"], markers: [(2.5, "pad")])
        let layout = plot.layout
        XCTAssertEqual(layout.pixelsPerFrame, 2)
        XCTAssertEqual(layout.pixelsPerBin, 4)
        XCTAssertEqual(layout.plotWidth, 800)
        XCTAssertEqual(layout.plotHeight, 256)
        let image = plot.render()
        XCTAssertEqual(image.width, layout.width)
        XCTAssertEqual(image.height, layout.height)

        let map = ColorMap.viridis
        let wheezeY = layout.y(bin: 10, of: bins) + 1, elsewhereY = layout.y(bin: 40, of: bins) + 1
        XCTAssertEqual(map.nearestIndex(to: image[layout.x(frame: 300), wheezeY]), 255, "maximum at the top of the map")
        XCTAssertEqual(map.nearestIndex(to: image[layout.x(frame: 300), elsewhereY]), 0)
        XCTAssertLessThan(wheezeY, layout.plotY + layout.plotHeight)
        XCTAssertGreaterThan(wheezeY, layout.plotY + layout.plotHeight * 3 / 4, "a low bin sits near the bottom")
        let crackle = map.nearestIndex(to: image[layout.x(frame: 100), elsewhereY])
        XCTAssertEqual(crackle, 191, "value 2 of -1...3")
        XCTAssertEqual(image[layout.x(frame: 250), layout.plotY + 41], .white, "marker line at 2.5 s")

        // Text exists left of the plot (tick labels) and below it (time labels).
        let inkLeft = (0..<layout.plotX - 2).contains { x in (layout.plotY..<layout.plotY + layout.plotHeight).contains { image[x, $0].luminance < 100 } }
        let inkBelow = (layout.plotY + layout.plotHeight + 2..<image.height).contains { y in (layout.plotX..<layout.plotX + 100).contains { image[$0, y].luminance < 100 } }
        XCTAssertTrue(inkLeft)
        XCTAssertTrue(inkBelow)

        let path = directory + "/plot.png"
        try PNGFile.write(image, to: path)
        XCTAssertEqual(try PNGFile.read(path).image, image)
    }
}
