import XCTest

/// The one way tests compare computed values with reference values element by element.
/// NaN-safe: a NaN on either side, or an infinity on one side only, counts as an infinite
/// difference, so `max` can never hide it (Swift's `max(x, .nan)` returns `x`, and `d > worst` is
/// false for NaN); arrays of different lengths are a recorded test failure and an infinite
/// difference (never a silent `zip` over the shorter one). Accumulates over several pairs.
public struct Difference: Sendable, CustomStringConvertible {
    /// Largest |a[i] - b[i]| so far (`.infinity` as above).
    public private(set) var max: Float = 0
    /// Where `max` is: element index within the pair that gave it, and that pair's number.
    public private(set) var index: Int?
    public private(set) var pair: Int?
    /// Values compared and the sum of their differences (Double, for the mean).
    public private(set) var count = 0
    public private(set) var sum = 0.0
    private var pairs = 0

    public var mean: Float { count == 0 ? 0 : Float(sum / Double(count)) }
    public var description: String {
        String(format: "max |diff| %.3g, mean %.3g over %d values", Double(max), Double(mean), count) + (index.map { " (worst at \($0))" } ?? "")
    }

    public init() {}

    /// The difference of one pair (`context` names it in a length-mismatch failure).
    public init<A: Collection<Float>, B: Collection<Float>>(_ a: A, _ b: B, _ context: @autoclosure () -> String = "",
                                                            file: StaticString = #filePath, line: UInt = #line) {
        add(a, b, context(), file: file, line: line)
    }

    /// |a - b| of one pair of values, NaN-safe as above (equal infinities differ by 0).
    @inlinable
    public static func absolute(_ a: Float, _ b: Float) -> Float {
        if a.isNaN || b.isNaN { return .infinity }
        return a == b ? 0 : Swift.abs(a - b)
    }

    /// Adds the element-wise differences of `a` and `b`.
    public mutating func add<A: Collection<Float>, B: Collection<Float>>(_ a: A, _ b: B, _ context: @autoclosure () -> String = "",
                                                                         file: StaticString = #filePath, line: UInt = #line) {
        defer { pairs += 1 }
        guard a.count == b.count else {
            XCTFail("\(context().isEmpty ? "" : context() + ": ")\(a.count) values vs \(b.count)", file: file, line: line)
            (max, sum, index, pair) = (.infinity, .infinity, nil, pairs)
            return
        }
        var i = 0
        for (x, y) in zip(a, b) {
            let d = Self.absolute(x, y)
            if d > max || (index == nil && pair == nil) { (max, index, pair) = (d, i, pairs) }
            sum += Double(d)
            i += 1
        }
        count += a.count
    }
}

/// `Difference(a, b).max`: the largest absolute difference, NaN-safe and length-checked.
public func maxAbsDifference<A: Collection<Float>, B: Collection<Float>>(_ a: A, _ b: B, _ context: @autoclosure () -> String = "",
                                                                         file: StaticString = #filePath, line: UInt = #line) -> Float {
    Difference(a, b, context(), file: file, line: line).max
}
