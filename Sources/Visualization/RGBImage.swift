/// An 8-bit RGB colour.
public struct RGB: Sendable, Hashable, CustomStringConvertible {
    public var red: UInt8
    public var green: UInt8
    public var blue: UInt8

    public init(_ red: UInt8, _ green: UInt8, _ blue: UInt8) {
        self.red = red
        self.green = green
        self.blue = blue
    }

    /// From `0xRRGGBB`.
    public init(hex: UInt32) {
        self.init(UInt8(truncatingIfNeeded: hex >> 16), UInt8(truncatingIfNeeded: hex >> 8), UInt8(truncatingIfNeeded: hex))
    }

    public static let white = RGB(255, 255, 255)
    public static let black = RGB(0, 0, 0)

    /// Relative luminance (Rec. 709 weights on the 8-bit values, 0...255): "brighter" in tests.
    public var luminance: Double { 0.2126 * Double(red) + 0.7152 * Double(green) + 0.0722 * Double(blue) }

    public var description: String { "#" + [red, green, blue].map { byte in
        let digits = Array("0123456789abcdef")
        return String(digits[Int(byte >> 4)]) + String(digits[Int(byte & 15)])
    }.joined() }
}

/// A raster image, 8-bit RGB, rows top to bottom, packed (`width * 3` bytes per row): the layout
/// libpng's simplified API reads and writes as `PNG_FORMAT_RGB`.
public struct RGBImage: Sendable, Equatable {
    public let width: Int
    public let height: Int
    public private(set) var bytes: [UInt8]

    /// A `width` x `height` image filled with `background`.
    public init(width: Int, height: Int, background: RGB = .white) {
        precondition(width > 0 && height > 0, "an image needs at least one pixel")
        self.width = width
        self.height = height
        bytes = [UInt8](repeating: 0, count: width * height * 3)
        fill(x: 0, y: 0, width: width, height: height, with: background)
    }

    /// An image over existing packed RGB bytes.
    public init(width: Int, height: Int, bytes: [UInt8]) {
        precondition(width > 0 && height > 0 && bytes.count == width * height * 3, "bytes must hold width * height RGB pixels")
        self.width = width
        self.height = height
        self.bytes = bytes
    }

    public subscript(x: Int, y: Int) -> RGB {
        get {
            precondition(contains(x: x, y: y), "pixel (\(x), \(y)) outside \(width)x\(height)")
            let offset = (y * width + x) * 3
            return RGB(bytes[offset], bytes[offset + 1], bytes[offset + 2])
        }
        set {
            precondition(contains(x: x, y: y), "pixel (\(x), \(y)) outside \(width)x\(height)")
            let offset = (y * width + x) * 3
            bytes[offset] = newValue.red
            bytes[offset + 1] = newValue.green
            bytes[offset + 2] = newValue.blue
        }
    }

    public func contains(x: Int, y: Int) -> Bool { x >= 0 && y >= 0 && x < width && y < height }

    /// Sets a pixel if it lies inside the image (drawing primitives clip silently).
    public mutating func plot(x: Int, y: Int, _ color: RGB) {
        if contains(x: x, y: y) { self[x, y] = color }
    }

    /// Fills a rectangle, clipped to the image.
    public mutating func fill(x: Int, y: Int, width w: Int, height h: Int, with color: RGB) {
        let x0 = max(0, x), y0 = max(0, y), x1 = min(width, x + w), y1 = min(height, y + h)
        guard x0 < x1, y0 < y1 else { return }
        for row in y0..<y1 {
            var offset = (row * width + x0) * 3
            for _ in x0..<x1 {
                bytes[offset] = color.red
                bytes[offset + 1] = color.green
                bytes[offset + 2] = color.blue
                offset += 3
            }
        }
    }

    /// A horizontal line of `length` pixels from (x, y); every `dash`-th run skipped when dashed.
    public mutating func horizontalLine(x: Int, y: Int, length: Int, _ color: RGB, dash: Int = 0) {
        for i in 0..<max(0, length) where dash == 0 || (i / dash) % 2 == 0 { plot(x: x + i, y: y, color) }
    }

    /// A vertical line of `length` pixels down from (x, y); dashed like `horizontalLine`.
    public mutating func verticalLine(x: Int, y: Int, length: Int, _ color: RGB, dash: Int = 0) {
        for i in 0..<max(0, length) where dash == 0 || (i / dash) % 2 == 0 { plot(x: x, y: y + i, color) }
    }

    /// A one-pixel rectangle outline.
    public mutating func strokeRectangle(x: Int, y: Int, width w: Int, height h: Int, _ color: RGB) {
        horizontalLine(x: x, y: y, length: w, color)
        horizontalLine(x: x, y: y + h - 1, length: w, color)
        verticalLine(x: x, y: y, length: h, color)
        verticalLine(x: x + w - 1, y: y, length: h, color)
    }
}
