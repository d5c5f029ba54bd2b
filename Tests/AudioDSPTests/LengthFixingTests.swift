@testable import AudioDSP
import HDF5
import TestSupport
import XCTest

final class LengthFixingTests: XCTestCase {
    /// Step 5 against the reference: every golden cycle, sliced out of its recording's
    /// `faded_16k`, fixed to 128,000 samples, equals `cycles/padded_16k`. Tolerance 0: the
    /// float32 operations are the reference's (tile, cut, one multiply by torch's fade gain).
    func testRepeatPaddingMatchesGoldenCycles() throws {
        let file = try FbankGolden.open()
        let recordings = try file.readStrings("/cycles/recording")
        let (begins, _) = try file.read("/cycles/slice_begin", as: Int64.self)
        let (ends, _) = try file.read("/cycles/slice_end", as: Int64.self)
        let (padded, shape) = try file.read("/cycles/padded_16k", as: Float.self)
        XCTAssertEqual(shape, [recordings.count, 128_000])
        var faded: [String: [Float]] = [:]
        var total = Difference()
        var lengths: Set<String> = []
        for (c, recording) in recordings.enumerated() {
            if faded[recording] == nil {
                faded[recording] = try file.read("/recordings/\(recording)/faded_16k", as: Float.self).0
            }
            let source = faded[recording]!
            let slice = Array(source[Int(begins[c])..<Int(ends[c])])
            let fixed = try LengthFixing.reference.apply(slice)
            var d = Difference()
            d.add(fixed, Array(padded[(c * 128_000)..<((c + 1) * 128_000)]))
            total.add(fixed, Array(padded[(c * 128_000)..<((c + 1) * 128_000)]))
            XCTAssertLessThanOrEqual(d.max, 1e-7, "cycle \(c) (\(recording), \(slice.count) samples): \(d)")
            lengths.insert(slice.count > 128_000 ? "longer" : slice.count == 128_000 ? "exact" : "shorter")
        }
        print("length fixing vs golden cycles/padded_16k: \(total); cases: \(lengths.sorted())")
        XCTAssertEqual(total.max, 0, "not bit-identical: \(total)")
        XCTAssertTrue(lengths.contains("longer") && lengths.contains("shorter"))
    }

    func testEmptyCycleIsRejected() {
        for mode in LengthFixing.Mode.allCases {
            XCTAssertThrowsError(try LengthFixing(length: 10, mode: mode, fadeOutLength: 2).apply([])) { error in
                XCTAssertEqual(error as? LengthFixingError, .emptyInput)
                XCTAssertTrue("\(error)".contains("empty cycle"), "\(error)")
            }
        }
    }

    func testRepeatTilesCutsAndFades() throws {
        let fixing = LengthFixing(length: 10, mode: .repeat, fadeOutLength: 3)
        // Tiled 1 2 3 1 2 3 1 2 3 1, last three faded by 1, 0.5, 0.
        XCTAssertEqual(try fixing.apply([1, 2, 3]), [1, 2, 3, 1, 2, 3, 1, 2 * 1, 3 * 0.5, 1 * 0])
        // Exactly the length: still faded (the reference pads through the tiling branch).
        XCTAssertEqual(try fixing.apply([Float](repeating: 2, count: 10)), [2, 2, 2, 2, 2, 2, 2, 2, 1, 0])
        // Longer: cut, no fade.
        XCTAssertEqual(try fixing.apply((1...12).map(Float.init)), (1...10).map(Float.init))
    }

    func testZeroPaddingCentresWithTheOddZeroAtTheEnd() throws {
        let fixing = LengthFixing(length: 8, mode: .zero)
        XCTAssertEqual(try fixing.apply([1, 2, 3]), [0, 0, 1, 2, 3, 0, 0, 0])   // 5 zeros: 2 before, 3 after
        XCTAssertEqual(try fixing.apply([1, 2, 3, 4]), [0, 0, 1, 2, 3, 4, 0, 0])
        XCTAssertEqual(try fixing.apply((1...8).map(Float.init)), (1...8).map(Float.init))
        XCTAssertEqual(try fixing.apply((1...9).map(Float.init)), (1...8).map(Float.init))   // cut, like repeat
    }

    /// Seconds as people give them: whole samples, the reference's fade-out; no trap on
    /// values that give no sample.
    func testLengthInSecondsGivesTheReferenceAndRefusesWhatGivesNoSample() throws {
        XCTAssertEqual(try LengthFixing(seconds: 8, sampleRate: 16000), .reference)
        XCTAssertEqual(try LengthFixing(seconds: 2.5, sampleRate: 16000, mode: .zero),
                       LengthFixing(length: 40000, mode: .zero, fadeOutLength: 1000))
        XCTAssertEqual(try LengthFixing(seconds: 0.05, sampleRate: 16000).fadeOutLength, 800)
        XCTAssertEqual(LengthFixing.reference.seconds(sampleRate: 16000), 8)
        for seconds in [0, -1, 1e-5, .nan, .infinity, -.infinity, 1e300] {
            XCTAssertThrowsError(try LengthFixing(seconds: seconds, sampleRate: 16000), "\(seconds)") { error in
                XCTAssertTrue("\(error)".contains("got \(seconds) s"), "\(error)")
            }
        }
    }

    func testInvalidSettingsAreRejected() {
        XCTAssertThrowsError(try LengthFixing(length: 0).apply([1]))
        XCTAssertThrowsError(try LengthFixing(length: 10, fadeOutLength: 11).apply([1]))
    }

    /// The fade gain is torch's float32 `linspace`, not `k / (L - 1)`: equal to within one ulp,
    /// and exactly the golden's (checked above); here its shape.
    func testTorchLinspace() {
        for count in [1, 2, 3, 13, 16, 100, 1000, 1001] {
            var previous: Float = -1
            for k in 0..<count {
                let v = LengthFixing.torchLinspace(k, count: count)
                XCTAssertGreaterThan(v, previous)
                previous = v
                let exact = count == 1 ? 0 : Double(k) / Double(count - 1)
                XCTAssertEqual(Double(v), exact, accuracy: 1.2e-7, "k \(k) of \(count)")
            }
            if count > 1 { XCTAssertEqual(LengthFixing.torchLinspace(count - 1, count: count), 1) }
        }
    }
}
