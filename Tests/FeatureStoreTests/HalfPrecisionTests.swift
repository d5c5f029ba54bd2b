import XCTest
@testable import FeatureStore

/// The vectorised float32 <-> binary16 conversions against Swift's own `Float16` conversions.
final class HalfPrecisionTests: XCTestCase {
    private func toHalf(_ values: [Float]) -> [Float16] {
        [Float16](unsafeUninitializedCapacity: values.count) { buffer, initialized in
            values.withUnsafeBufferPointer { HalfPrecision.convert($0, into: buffer) }
            initialized = values.count
        }
    }

    /// Every one of the 65,536 halves widens exactly (NaNs stay NaN).
    func testEveryHalfWidensExactly() {
        let halves = (0...UInt16.max).map { Float16(bitPattern: $0) }
        let widened = [Float](unsafeUninitializedCapacity: halves.count) { buffer, initialized in
            halves.withUnsafeBufferPointer { HalfPrecision.convert($0, into: buffer) }
            initialized = halves.count
        }
        for (half, single) in zip(halves, widened) {
            if half.isNaN { XCTAssertTrue(single.isNaN, "\(half.bitPattern)"); continue }
            XCTAssertEqual(single.bitPattern, Float(half).bitPattern, "half bits \(half.bitPattern)")
        }
    }

    /// Rounding to nearest even, overflow, subnormals, signed zeros and 200,000 random floats: the same
    /// bits as `Float16(x)`; odd lengths exercise the scalar tail.
    func testNarrowingMatchesSwiftsFloat16() {
        var values: [Float] = [0, -0.0, 1, -1, 65504, 65519.99, 65520, -65520, 1e9, .infinity, -.infinity,
                               0x1p-14, 0x1p-24, 0x1p-25, 0x1.8p-25, 0x1p-26, 0x1.fffp-15, 0x1.ffep-15,
                               1 + 0x1p-11, 1 + 0x3p-11, 1 + 0x1p-10, 2049, 2051, .leastNonzeroMagnitude,
                               .greatestFiniteMagnitude, -4.2677393, 0.5 / 4.5689974]
        // Every tie and near-tie around float16's spacing in [1, 4).
        for k in 0..<4096 { values += [1 + Float(k) * 0x1p-11, 1 + Float(k) * 0x1p-11 + 0x1p-23] }
        var random = SystemRandomNumberGenerator()
        for _ in 0..<200_000 { values.append(Float(bitPattern: random.next())) }
        values.append(3.14159)   // an odd count
        let converted = toHalf(values)
        var mismatches = 0
        for (value, half) in zip(values, converted) {
            if value.isNaN { if !half.isNaN { mismatches += 1 }; continue }
            if half.bitPattern != Float16(value).bitPattern {
                mismatches += 1
                if mismatches < 5 { XCTFail("\(value) (bits \(value.bitPattern)): got \(half.bitPattern), Float16 gives \(Float16(value).bitPattern)") }
            }
        }
        XCTAssertEqual(mismatches, 0)
    }

    /// The error bound docs/pipeline.md quotes: half a unit in the last place of the value's binade.
    func testRoundingBound() {
        XCTAssertEqual(HalfPrecision.roundingBound(forMagnitude: 1), 0x1p-11)
        XCTAssertEqual(HalfPrecision.roundingBound(forMagnitude: -1.99), 0x1p-11)
        XCTAssertEqual(HalfPrecision.roundingBound(forMagnitude: 0.3), 0x1p-13)
        XCTAssertEqual(HalfPrecision.roundingBound(forMagnitude: 1e-6), 0x1p-25)
        var random = SystemRandomNumberGenerator()
        for _ in 0..<100_000 {
            let x = Float.random(in: -8...8, using: &random)
            XCTAssertLessThanOrEqual(abs(Float(Float16(x)) - x), HalfPrecision.roundingBound(forMagnitude: x))
        }
    }
}
