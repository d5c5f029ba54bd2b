@testable import AudioDSP
import Foundation
import TestSupport
import XCTest

final class ResamplerTests: XCTestCase {
    /// The ICBHI source rates and the golden edge file's.
    static let rates = [44100, 4000, 10000, 48000]

    func testKindNamesMatchTheCLI() {
        XCTAssertEqual(ResamplerKind.allCases.map(\.rawValue), ["reference", "sinc-best", "sinc-medium", "sinc-fastest"])
        XCTAssertEqual(ResamplerKind.default, .reference)
        XCTAssertEqual(Resampler().kind, .reference)
        XCTAssertEqual(ResamplerKind(rawValue: "sinc-best"), .sincBest)
    }

    func testTorchaudioKernelGeometry() {
        // orig / gcd, new / gcd, torchaudio's width and kernel length 2 * width + orig.
        let expected: [Int: (orig: Int, new: Int, width: Int)] = [
            44100: (441, 160, 17), 4000: (1, 4, 7), 10000: (5, 8, 7), 48000: (3, 1, 19),
        ]
        for rate in Self.rates {
            let r = TorchaudioSincResampler(from: rate, to: 16000)
            let e = expected[rate]!
            XCTAssertEqual(r.reducedSource, e.orig)
            XCTAssertEqual(r.reducedTarget, e.new)
            XCTAssertEqual(r.width, e.width)
            XCTAssertEqual(r.tapsPerPhase % 8, 0)
            XCTAssertLessThan(r.tapsPerPhase, 2 * e.width + e.orig + 8)
        }
    }

    /// The windowed evaluation keeps every non-zero tap of torchaudio's full kernel rows.
    func testOnlyZeroTapsAreDropped() {
        for rate in Self.rates {
            let g = TorchaudioSincResampler.gcd(rate, 16000)
            let orig = rate / g, new = 16000 / g
            let (width, rows) = TorchaudioSincResampler.kernel(orig: orig, new: new, lowpassFilterWidth: 6, rolloff: 0.99)
            let baseFreq = Double(min(orig, new)) * 0.99
            for j in 0..<new {
                let phase = Double(Float(-j) / Float(new))
                let full = (0..<(2 * width + orig)).map {
                    TorchaudioSincResampler.tap(k: $0, phase: phase, orig: orig, width: width, baseFreq: baseFreq, lpw: 6)
                }
                let row = rows[j]
                for (k, value) in full.enumerated() {
                    let inside = k >= row.first && k < row.first + row.taps.count
                    if inside {
                        XCTAssertEqual(value, row.taps[k - row.first], "rate \(rate) phase \(j) tap \(k)")
                    } else {
                        XCTAssertEqual(value, 0, "rate \(rate) phase \(j) tap \(k) dropped but not zero")
                    }
                }
            }
        }
    }

    /// Both SIMD strategies equal a direct transcription of torchaudio's conv1d over the
    /// zero-padded input (same taps, sums in double here).
    func testPolyphaseEqualsDirectConvolution() throws {
        var rng = SystemRandomNumberGenerator()
        for rate in Self.rates + [22050, 8000, 16001, 24000] {
            let r = TorchaudioSincResampler(from: rate, to: 16000)
            let orig = r.reducedSource, new = r.reducedTarget, width = r.width
            let baseFreq = Double(min(orig, new)) * 0.99
            for n in [1, 2, 5, 17, 441, 1000, 4410 + 3] {
                let x = (0..<n).map { _ in Float.random(in: -1..<1, using: &rng) }
                let count = r.outputLength(forInputLength: n)
                XCTAssertEqual(count, Int((Double(new) * Double(n) / Double(orig)).rounded(.up)), "rate \(rate) n \(n)")
                var direct = [Float](repeating: 0, count: count)
                for i in 0..<count {
                    let m = i / new, j = i % new
                    let phase = Double(Float(-j) / Float(new))
                    var sum = 0.0
                    for k in 0..<(2 * width + orig) {
                        let p = m * orig + k - width
                        guard p >= 0 && p < n else { continue }
                        let tap = TorchaudioSincResampler.tap(k: k, phase: phase, orig: orig, width: width, baseFreq: baseFreq, lpw: 6)
                        sum += Double(tap) * Double(x[p])
                    }
                    direct[i] = Float(sum)
                }
                for strategy in TorchaudioSincResampler.Strategy.allCases {
                    var y = [Float](repeating: .nan, count: count)
                    x.withUnsafeBufferPointer { xp in
                        y.withUnsafeMutableBufferPointer { r.resample(xp, into: $0, strategy: strategy) }
                    }
                    let maxDiff = maxAbsDifference(y, direct, "rate \(rate) n \(n) \(strategy)")
                    XCTAssertLessThan(maxDiff, 2e-6, "rate \(rate) n \(n) \(strategy)")
                    XCTAssertFalse(y.contains { $0.isNaN }, "rate \(rate) n \(n) \(strategy): unwritten output")
                }
                XCTAssertEqual(r.resample(x), {
                    var y = [Float](repeating: 0, count: count)
                    x.withUnsafeBufferPointer { xp in y.withUnsafeMutableBufferPointer { r.resample(xp, into: $0, strategy: r.strategy) } }
                    return y
                }())
            }
        }
    }

    func testEveryKindGivesTorchaudiosLength() throws {
        var rng = SystemRandomNumberGenerator()
        for rate in Self.rates {
            for n in [1, 3, 1000, 44_101, 100_003] {
                let x = (0..<n).map { _ in Float.random(in: -0.5..<0.5, using: &rng) }
                let expected = Int((16000.0 * Double(n) / Double(rate)).rounded(.up))
                XCTAssertEqual(Resampler.outputLength(forInputLength: n, from: rate, to: 16000), expected)
                for kind in ResamplerKind.allCases {
                    XCTAssertEqual(try Resampler(kind: kind).resample(x, from: rate, to: 16000).count, expected, "\(kind) \(rate) Hz n \(n)")
                }
            }
        }
    }

    /// libsamplerate's own output count is within 2 samples of torchaudio's `ceil`, so the
    /// trimming or zero padding to that length only touches the last samples.
    func testLibsamplerateOwnLengthIsCloseToTorchaudios() throws {
        for rate in Self.rates {
            for n in [1000, 44_101, 882_000] {
                let x = [Float](repeating: 0.5, count: n)
                let expected = Resampler.outputLength(forInputLength: n, from: rate, to: 16000)
                for kind in ResamplerKind.allCases where kind != .reference {
                    let converter = try SampleRateConverter(converter: kind.libsamplerateConverter!)
                    let y = try x.withUnsafeBufferPointer { (p) throws(ResamplingError) -> [Float] in
                        try converter.convert(p, ratio: 16000 / Double(rate), outputCount: expected + 50)
                    }
                    let produced = (y.lastIndex { $0 > 0.25 } ?? -1) + 1
                    XCTAssertLessThanOrEqual(abs(produced - expected), 2, "\(kind) \(rate) Hz n \(n): \(produced) vs \(expected)")
                }
            }
        }
    }

    func testEqualRatesReturnTheInput() throws {
        let x: [Float] = [0.1, -0.2, 0.3, 0.25]
        for kind in ResamplerKind.allCases {
            XCTAssertEqual(try Resampler(kind: kind).resample(x, from: 16000, to: 16000), x)
        }
    }

    func testEmptyInputGivesEmptyOutput() throws {
        for kind in ResamplerKind.allCases {
            XCTAssertEqual(try Resampler(kind: kind).resample([], from: 44100, to: 16000), [])
        }
    }

    func testInvalidRatesAreErrors() {
        for kind in ResamplerKind.allCases {
            XCTAssertThrowsError(try Resampler(kind: kind).resample([1, 2], from: 0, to: 16000)) { error in
                XCTAssertTrue("\(error)".contains("0 Hz"), "\(error)")
            }
        }
        // libsamplerate's ratio limit is 256.
        XCTAssertThrowsError(try Resampler(kind: .sincFastest).resample([1, 2], from: 10, to: 16000)) { error in
            XCTAssertTrue("\(error)".contains("1/256"), "\(error)")
        }
        XCTAssertEqual(try Resampler(kind: .reference).resample([1, 2], from: 10, to: 16000).count, 3200)
    }

    /// A band-limited tone survives every converter (sanity check independent of the goldens).
    func testToneSurvivesEveryConverter() throws {
        for rate in Self.rates {
            let n = rate  // one second
            let x = (0..<n).map { Float(0.5 * sin(2 * Double.pi * 440 * Double($0) / Double(rate))) }
            for kind in ResamplerKind.allCases {
                let y = try Resampler(kind: kind).resample(x, from: rate, to: 16000)
                let inner = 200..<(y.count - 200)
                let worst = maxAbsDifference(y[inner], inner.map { Float(0.5 * sin(2 * Double.pi * 440 * Double($0) / 16000)) },
                                             "\(kind) \(rate) Hz")
                XCTAssertLessThan(worst, 2e-3, "\(kind) \(rate) Hz")
            }
        }
    }

    func testConcurrentUseGivesIdenticalOutput() throws {
        var rng = SystemRandomNumberGenerator()
        let x = (0..<50_000).map { _ in Float.random(in: -1..<1, using: &rng) }
        let expected = try Resampler(kind: .reference).resample(x, from: 44100, to: 16000)
        let results = UnsafeMutableBufferPointer<[Float]>.allocate(capacity: 8)
        results.initialize(repeating: [])
        defer { results.deinitialize(); results.deallocate() }
        nonisolated(unsafe) let slots = results
        DispatchQueue.concurrentPerform(iterations: 8) { i in
            let kind: ResamplerKind = i % 2 == 0 ? .reference : .sincFastest
            slots[i] = (try? Resampler(kind: kind).resample(x, from: 44100, to: 16000)) ?? []
        }
        for i in stride(from: 0, to: 8, by: 2) { XCTAssertEqual(results[i], expected) }
        let fastest = try Resampler(kind: .sincFastest).resample(x, from: 44100, to: 16000)
        for i in stride(from: 1, to: 8, by: 2) { XCTAssertEqual(results[i], fastest) }
    }
}
