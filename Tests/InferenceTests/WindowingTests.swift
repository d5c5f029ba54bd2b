import AudioDSP
@testable import Inference
import TestSupport
import XCTest

/// The windows `predict` scores without annotations, and the streamed 16 kHz audio they are cut
/// from (bit-identical to ingest's whole-recording decode, resample and fade).
final class WindowingTests: XCTestCase {
    func testWindowsEveryHopUpToTheFirstReachingTheEnd() {
        // 20 s at 16 kHz, 8 s windows every 4 s: 0-8, 4-12, 8-16, 12-20 (reaches the end: last).
        let rate = 16_000
        XCTAssertEqual(Windowing.windows(length: 20 * rate, sampleRate: rate, window: 8, hop: 4),
                       [0..<(8 * rate), (4 * rate)..<(12 * rate), (8 * rate)..<(16 * rate), (12 * rate)..<(20 * rate)])
        // 21 s: the fifth window starts at 16 s and is cut at 21 s.
        let w = Windowing.windows(length: 21 * rate, sampleRate: rate, window: 8, hop: 4)
        XCTAssertEqual(w.count, 5)
        XCTAssertEqual(w.last, (16 * rate)..<(21 * rate))
        // Shorter than one window: one short window (padded later as training pads).
        XCTAssertEqual(Windowing.windows(length: 3 * rate, sampleRate: rate, window: 8, hop: 4), [0..<(3 * rate)])
        // Hop longer than the window leaves gaps; the last window still reaches the end.
        XCTAssertEqual(Windowing.windows(length: 10, sampleRate: 1, window: 2, hop: 3), [0..<2, 3..<5, 6..<8, 9..<10])
        XCTAssertEqual(Windowing.windows(length: 0, sampleRate: rate, window: 8, hop: 4), [])
        // Fractional seconds are whole samples, rounded.
        XCTAssertEqual(Windowing.windows(length: 100, sampleRate: 10, window: 2.04, hop: 0.96), Windowing.windows(length: 100, sampleRate: 10, window: 2, hop: 1))
    }

    func testWindowOptionsAreValidated() {
        XCTAssertNil(Windowing.validate(window: nil, hop: 4))
        XCTAssertNotNil(Windowing.validate(window: 0, hop: 4))
        XCTAssertNotNil(Windowing.validate(window: 8, hop: -1))
        XCTAssertNotNil(Windowing.validate(window: .nan, hop: 4))
    }

    /// Spans of the streamed recording (seek + read of a bounded input span, resampled with
    /// context, faded at the ends) equal ingest's whole recording bit for bit, at 44.1 and 4 kHz.
    func testStreamedSpansEqualTheWholeRecording() throws {
        try Fixtures.requireShared()
        for stem in ["101_1b1_Al_sc_Meditron", "104_1b1_Ar_sc_Litt3200", "103_2b2_Ar_mc_LittC2SE"] {
            let path = Fixtures.sampleDirectory + "/" + stem + ".wav"
            let decoded = try AudioDecoder.decode(contentsOf: path)
            var whole = try Resampler(kind: .reference).resample(decoded.samples, from: decoded.sampleRate, to: 16_000)
            try Fade.recording.apply(to: &whole)
            let audio = try Recording16k(path: path, resampler: .reference) { TorchaudioSincResampler(from: $0, to: 16_000) }
            XCTAssertTrue(audio.isStreamed)
            XCTAssertEqual(audio.length, whole.count)
            let n = whole.count
            let spans = [0..<1, 0..<500, 10..<128_000, 999..<1001, 12_345..<54_321, (n - 1500)..<(n - 700), (n - 1)..<n, 0..<n,
                         (n / 2)..<(n / 2 + 1)]
            for span in spans {
                XCTAssertEqual(try audio.samples(span), Array(whole[span]), "\(stem) \(span)")
            }
        }
    }

    /// A model trained on libsamplerate audio: the recording is resampled whole, as ingest does.
    func testLibsamplerateResamplersTakeTheWholeRecording() throws {
        try Fixtures.requireShared()
        let path = Fixtures.sampleDirectory + "/104_1b1_Al_sc_Litt3200.wav"
        let decoded = try AudioDecoder.decode(contentsOf: path)
        var whole = try Resampler(kind: .sincFastest).resample(decoded.samples, from: decoded.sampleRate, to: 16_000)
        try Fade.recording.apply(to: &whole)
        let audio = try Recording16k(path: path, resampler: .sincFastest) { TorchaudioSincResampler(from: $0, to: 16_000) }
        XCTAssertFalse(audio.isStreamed)
        XCTAssertEqual(try audio.samples(100..<90_000), Array(whole[100..<90_000]))
    }
}
