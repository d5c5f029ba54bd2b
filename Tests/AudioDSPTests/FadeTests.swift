import AudioDSP
import XCTest

final class FadeTests: XCTestCase {
    /// `torch.linspace(0, 1, L)` bytes from PyTorch 1.13 (AVX2 CPU kernel) at the indices where
    /// they differ from `k / (L - 1)` rounded, for L = 1000.
    func testLinspaceMatchesTorchBitForBit() {
        let values = Fade.linspace(count: 1000)
        XCTAssertEqual(values.count, 1000)
        XCTAssertEqual(values.first, 0)
        XCTAssertEqual(values.last, 1)
        // Spot values read off torch (`torch.linspace(0, 1, 1000)[k].item()` as float32 bits).
        let torch: [Int: UInt32] = [
            1: 0x3A83_3405, 7: 0x3BE5_9B09, 21: 0x3CAC_3446, 26: 0x3CD5_3489, 29: 0x3CED_CE4A, 41: 0x3D28_1AA6,
            42: 0x3D2C_3446, 43: 0x3D30_4DE6, 500: 0x3F00_20CD, 501: 0x3F00_6267, 748: 0x3F3F_AE00,
            749: 0x3F3F_EF9A, 848: 0x3F59_4E29, 849: 0x3F59_8FC3, 950: 0x3F73_7185, 951: 0x3F73_B31F,
            993: 0x3F7E_7664, 999: 0x3F80_0000,
        ]
        for (k, bits) in torch {
            XCTAssertEqual(values[k].bitPattern, bits, "linspace[\(k)] = \(values[k])")
        }
        // All 1,000 values: sum over k of bits(k) * (k + 1), from the same torch tensor.
        let checksum = values.enumerated().reduce(UInt64(0)) { $0 &+ UInt64($1.element.bitPattern) &* UInt64($1.offset + 1) }
        XCTAssertEqual(checksum, 529_939_998_562_544)
        XCTAssertEqual(Fade.linspace(count: 1), [0])
        XCTAssertEqual(Fade.linspace(count: 2), [0, 1])
        XCTAssertEqual(Fade.linspace(count: 0), [])
    }

    func testRecordingFadeOnOnes() throws {
        var x = [Float](repeating: 1, count: 5000)
        try Fade.recording.apply(to: &x)
        let ramp = Fade.linspace(count: 1000)
        XCTAssertEqual(Array(x[0..<1000]), ramp)
        XCTAssertEqual(Array(x[4000..<5000]), ramp.map { 1 - $0 })
        XCTAssertTrue(x[1000..<4000].allSatisfy { $0 == 1 })
        XCTAssertEqual(x.first, 0)
        XCTAssertEqual(x.last, 0)
    }

    /// Between L and 2L samples the two ramps overlap and multiply, as in torchaudio; shorter
    /// than L, torchaudio fails and so do we.
    func testShortSignals() throws {
        var x = [Float](repeating: 2, count: 1500)
        try Fade.recording.apply(to: &x)
        let ramp = Fade.linspace(count: 1000)
        for k in 0..<1500 {
            let gainIn: Float = k < 1000 ? ramp[k] : 1
            let gainOut: Float = k >= 500 ? 1 - ramp[k - 500] : 1
            XCTAssertEqual(x[k], (gainIn * gainOut) * 2, "sample \(k)")
        }
        var tooShort = [Float](repeating: 1, count: 999)
        XCTAssertThrowsError(try Fade.recording.apply(to: &tooShort)) { error in
            XCTAssertEqual(error as? Fade.TooShort, Fade.TooShort(length: 999, fadeLength: 1000))
        }
        var exactly = [Float](repeating: 1, count: 1000)
        XCTAssertNoThrow(try Fade.recording.apply(to: &exactly))
        XCTAssertEqual(exactly[0], 0)
        XCTAssertEqual(exactly[999], 0)
    }

    func testFadeOutOnlyForLengthFixing() throws {
        var x = [Float](repeating: 1, count: 3000)
        try Fade(fadeInLength: 0, fadeOutLength: 1000).apply(to: &x)
        XCTAssertTrue(x[0..<2000].allSatisfy { $0 == 1 })
        XCTAssertEqual(x[2000], 1)
        XCTAssertEqual(x[2999], 0)
    }
}
