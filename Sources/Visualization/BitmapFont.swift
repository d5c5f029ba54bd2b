/// A tiny built-in 5x7 bitmap font (printable ASCII; anything else draws as a box), so that
/// pictures carry their labels without a font library. Glyphs sit in 6x9 cells: one column of
/// spacing, and two rows below the baseline that only the descenders of g, j, p, q and y use.
/// `scale` multiplies every pixel.
public enum BitmapFont {
    public static let glyphWidth = 5
    public static let glyphHeight = 7
    /// Horizontal advance per character, unscaled.
    public static let advance = 6
    /// Line height, unscaled.
    public static let lineHeight = 9

    /// Width in pixels of `text` at `scale` (no trailing spacing column).
    public static func width(of text: String, scale: Int = 1) -> Int {
        text.isEmpty ? 0 : (text.count * advance - 1) * scale
    }

    /// Height in pixels of one line of text at `scale`.
    public static func height(scale: Int = 1) -> Int { glyphHeight * scale }

    /// The glyph of a character: 7 rows (9 with a descender), bit 4 = leftmost column. Unknown
    /// characters give a box.
    public static func glyph(_ character: Character) -> [UInt8] {
        glyphs[character] ?? [0x1F, 0x11, 0x11, 0x11, 0x11, 0x11, 0x1F]
    }

    /// Whether the font has a real glyph for `character`.
    public static func covers(_ character: Character) -> Bool { glyphs[character] != nil }

    /// Every glyph, parsed once from the drawings below.
    static let glyphs: [Character: [UInt8]] = {
        var result: [Character: [UInt8]] = [" ": [UInt8](repeating: 0, count: glyphHeight)]
        for block in drawings.split(separator: "\n\n") {
            let lines = block.split(separator: "\n", omittingEmptySubsequences: false).map { Array($0) }
            precondition(lines.count == glyphHeight + 1 || lines.count == lineHeight + 1,
                         "font block must be a header and \(glyphHeight) or \(lineHeight) rows")
            let header = lines[0]
            for column in stride(from: 0, to: header.count, by: advance) {
                var rows: [UInt8] = []
                for line in lines.dropFirst() {
                    var bits: UInt8 = 0
                    for x in 0..<glyphWidth {
                        let index = column + x
                        bits = bits << 1 | (index < line.count && line[index] == "#" ? 1 : 0)
                    }
                    rows.append(bits)
                }
                result[header[column]] = rows
            }
        }
        return result
    }()

    /// The glyphs as drawings: a header line with the characters (one every 6 columns), then the
    /// seven rows of each (nine for descenders), `#` for ink. Drawn for this project.
    private static let drawings = #"""
    0     1     2     3     4     5     6     7     8     9
    .###. ..#.. .###. ##### ...#. ##### ..##. ##### .###. .###.
    #...# .##.. #...# ...#. ..##. #.... .#... ....# #...# #...#
    #..## ..#.. ....# ..#.. .#.#. ####. #.... ...#. #...# #...#
    #.#.# ..#.. ...#. ...#. #..#. ....# ####. ..#.. .###. .####
    ##..# ..#.. ..#.. ....# ##### ....# #...# .#... #...# ....#
    #...# ..#.. .#... #...# ...#. #...# #...# .#... #...# ...#.
    .###. .###. ##### .###. ...#. .###. .###. .#... .###. .##..

    A     B     C     D     E     F     G     H     I     J     K     L     M
    .###. ####. .###. ###.. ##### ##### .###. #...# .###. ..### #...# #.... #...#
    #...# #...# #...# #..#. #.... #.... #...# #...# ..#.. ...#. #..#. #.... ##.##
    #...# #...# #.... #...# #.... #.... #.... #...# ..#.. ...#. #.#.. #.... #.#.#
    ##### ####. #.... #...# ####. ####. #.### ##### ..#.. ...#. ##... #.... #.#.#
    #...# #...# #.... #...# #.... #.... #...# #...# ..#.. ...#. #.#.. #.... #...#
    #...# #...# #...# #..#. #.... #.... #...# #...# ..#.. #..#. #..#. #.... #...#
    #...# ####. .###. ###.. ##### #.... .#### #...# .###. .##.. #...# ##### #...#

    N     O     P     Q     R     S     T     U     V     W     X     Y     Z
    #...# .###. ####. .###. ####. .#### ##### #...# #...# #...# #...# #...# #####
    #...# #...# #...# #...# #...# #.... ..#.. #...# #...# #...# #...# #...# ....#
    ##..# #...# #...# #...# #...# #.... ..#.. #...# #...# #...# .#.#. .#.#. ...#.
    #.#.# #...# ####. #...# ####. .###. ..#.. #...# #...# #.#.# ..#.. ..#.. ..#..
    #..## #...# #.... #.#.# #.#.. ....# ..#.. #...# #...# #.#.# .#.#. ..#.. .#...
    #...# #...# #.... #..#. #..#. ....# ..#.. #...# .#.#. #.#.# #...# ..#.. #....
    #...# .###. #.... .##.# #...# ####. ..#.. .###. ..#.. .#.#. #...# ..#.. #####

    a     b     c     d     e     f     h     i     k     l     m
    ..... #.... ..... ....# ..... ..##. #.... ..#.. #.... .##.. .....
    ..... #.... ..... ....# ..... .#..# #.... ..... #.... ..#.. .....
    .###. #.##. .###. .##.# .###. .#... #.##. .##.. #..#. ..#.. ##.#.
    ....# ##..# #.... #..## #...# ###.. ##..# ..#.. #.#.. ..#.. #.#.#
    .#### #...# #.... #...# ##### .#... #...# ..#.. ##... ..#.. #.#.#
    #...# #...# #...# #...# #.... .#... #...# ..#.. #.#.. ..#.. #...#
    .#### ####. .###. .#### .###. .#... #...# .###. #..#. .###. #...#

    n     o     r     s     t     u     v     w     x     z
    ..... ..... ..... ..... .#... ..... ..... ..... ..... .....
    ..... ..... ..... ..... .#... ..... ..... ..... ..... .....
    #.##. .###. #.##. .#### ###.. #...# #...# #...# #...# #####
    ##..# #...# ##..# #.... .#... #...# #...# #...# .#.#. ...#.
    #...# #...# #.... .###. .#... #...# #...# #.#.# ..#.. ..#..
    #...# #...# #.... ....# .#..# #..## .#.#. #.#.# .#.#. .#...
    #...# .###. #.... ####. ..##. .##.# ..#.. .#.#. #...# #####

    g     j     p     q     y
    ..... ...#. ..... ..... .....
    ..... ..... ..... ..... .....
    .#### ..##. ####. .#### #...#
    #...# ...#. #...# #...# #...#
    #...# ...#. #...# #...# #...#
    #...# ...#. #...# #...# #...#
    .#### ...#. ####. .#### .####
    ....# #..#. #.... ....# ....#
    .###. .##.. #.... ....# .###.

    !     "     #     %     '     (     )     *     +     ,     -     .     /
    ..#.. .#.#. .#.#. ##... ..#.. ...#. .#... ..... ..... ..... ..... ..... .....
    ..#.. .#.#. .#.#. ##..# ..#.. ..#.. ..#.. ..#.. ..#.. ..... ..... ..... ....#
    ..#.. ..... ##### ...#. ..... .#... ...#. #.#.# ..#.. ..... ..... ..... ...#.
    ..#.. ..... .#.#. ..#.. ..... .#... ...#. .###. ##### ..... ##### ..... ..#..
    ..#.. ..... ##### .#... ..... .#... ...#. #.#.# ..#.. .##.. ..... ..... .#...
    ..... ..... .#.#. #..## ..... ..#.. ..#.. ..#.. ..#.. ..#.. ..... .##.. #....
    ..#.. ..... .#.#. ...## ..... ...#. .#... ..... ..... .#... ..... .##.. .....

    :     ;     <     =     >     ?     @     [     \     ]     ^     _     |     ~
    ..... ..... ...#. ..... .#... .###. .###. .###. ..... .###. ..#.. ..... ..#.. .....
    .##.. .##.. ..#.. ..... ..#.. #...# #...# .#... #.... ...#. .#.#. ..... ..#.. .....
    .##.. .##.. .#... ##### ...#. ....# #.### .#... .#... ...#. #...# ..... ..#.. .#...
    ..... ..... #.... ..... ....# ...#. #.#.# .#... ..#.. ...#. ..... ..... ..#.. #.#.#
    .##.. .##.. .#... ##### ...#. ..#.. #.### .#... ...#. ...#. ..... ..... ..#.. ...#.
    .##.. ..#.. ..#.. ..... ..#.. ..... #.... .#... ....# ...#. ..... ..... ..#.. .....
    ..... .#... ...#. ..... .#... ..#.. .###. .###. ..... .###. ..... ##### ..#.. .....
    """#
}

extension RGBImage {
    /// Draws `text` with its top-left corner at (x, y). With `vertical`, the text is rotated a
    /// quarter turn anticlockwise and reads upwards from (x, y), which is then its bottom-left corner.
    public mutating func draw(_ text: String, x: Int, y: Int, scale: Int = 1, color: RGB = .black, vertical: Bool = false) {
        for (position, character) in text.enumerated() {
            let rows = BitmapFont.glyph(character)
            for (row, bits) in rows.enumerated() {
                for column in 0..<BitmapFont.glyphWidth where bits & (1 << (BitmapFont.glyphWidth - 1 - column)) != 0 {
                    // Unrotated: pixel (gx, gy) of the text line; rotated: (gy, -gx).
                    let gx = position * BitmapFont.advance + column
                    let gy = row
                    let (px, py) = vertical ? (x + gy * scale, y - (gx + 1) * scale) : (x + gx * scale, y + gy * scale)
                    fill(x: px, y: py, width: scale, height: scale, with: color)
                }
            }
        }
    }
}
