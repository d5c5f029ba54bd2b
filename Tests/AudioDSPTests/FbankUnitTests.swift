@testable import AudioDSP
import Dispatch
import Foundation
import XCTest

final class FbankUnitTests: XCTestCase {
    /// A deterministic test signal: tone plus noise.
    static func signal(count: Int, seed: UInt64 = 1) -> [Float] {
        var state = seed
        return (0..<count).map { i in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return 0.3 * sin(Float(i) * 0.17) + 0.1 * (Float(state >> 40) / Float(1 << 24) - 0.5)
        }
    }

    func testPaperOptionsAndDerivedValues() {
        let o = FbankOptions.paper
        XCTAssertEqual(o.windowSize, 400)
        XCTAssertEqual(o.windowShift, 160)
        XCTAssertEqual(o.paddedWindowSize, 512)
        XCTAssertEqual(o.effectiveHighFreq, 8000)
        XCTAssertEqual(o.featureDimension, 128)
        XCTAssertEqual(o.frameCount(sampleCount: 128_000), 798)
        XCTAssertEqual(o.frameCount(sampleCount: 399), 0)
        XCTAssertEqual(o.frameCount(sampleCount: 400), 1)
        var noSnip = o
        noSnip.snipEdges = false
        XCTAssertEqual(noSnip.frameCount(sampleCount: 128_000), 800)
        XCTAssertEqual(noSnip.frameCount(sampleCount: 79), 0)
        XCTAssertEqual(noSnip.frameCount(sampleCount: 80), 1)
        var unrounded = o
        unrounded.roundToPowerOfTwo = false
        XCTAssertEqual(unrounded.paddedWindowSize, 400)
        // Kaldi's defaults.
        let k = FbankOptions()
        XCTAssertEqual(k.windowType, .povey)
        XCTAssertEqual(k.numMelBins, 23)
        XCTAssertEqual(k.energyFloor, 0)
        XCTAssertFalse(k.htkCompat)
    }

    /// The filters' centres are Kaldi's: `mel(f) = 1127 ln(1 + f / 700)`, centre of filter m at
    /// `mel_low + (m + 1) * (mel_high - mel_low) / (bins + 1)`, back in hertz.
    func testMelFilterCentresFollowKaldisMelScale() {
        func mel(_ f: Double) -> Double { 1127 * log(1 + f / 700) }
        func hz(_ m: Double) -> Double { 700 * (exp(m / 1127) - 1) }
        for options in [FbankOptions.paper, FbankOptions()] {
            let centres = options.melFilterCentresHz
            XCTAssertEqual(centres.count, options.numMelBins)
            let low = mel(options.lowFreq), high = mel(options.effectiveHighFreq)
            for (m, centre) in centres.enumerated() {
                XCTAssertEqual(centre, hz(low + Double(m + 1) * (high - low) / Double(options.numMelBins + 1)), accuracy: 1e-9, "filter \(m)")
            }
            XCTAssertEqual(centres, centres.sorted())
            XCTAssertGreaterThan(centres[0], options.lowFreq)
            XCTAssertLessThan(centres[centres.count - 1], options.effectiveHighFreq)
        }
        // Each centre lies inside its filter's FFT bins (filter 3 of the paper's options has none).
        let paper = FbankOptions.paper
        let melBanks = MelBanks(options: paper)
        let binWidth = paper.sampleFrequency / Double(paper.paddedWindowSize)
        for (m, centre) in paper.melFilterCentresHz.enumerated() where melBanks.width(m) > 0 {
            let first = Double(melBanks.first[m]) * binWidth, last = Double(melBanks.first[m] + melBanks.width(m) - 1) * binWidth
            XCTAssertTrue(first - binWidth < centre && centre < last + binWidth, "filter \(m): \(centre) Hz, bins \(first)...\(last) Hz")
        }
    }

    func testDitherAndBadOptionsAreRefusedWithEveryProblemListed() {
        var o = FbankOptions.paper
        o.dither = 1
        XCTAssertThrowsError(try KaldiFbank(options: o)) { error in
            XCTAssertTrue("\(error)".contains("dither 1.0 is not supported"), "\(error)")
        }
        o.numMelBins = 3
        o.lowFreq = 9000
        o.preemphasisCoefficient = 1.5
        XCTAssertThrowsError(try o.validate()) { error in
            guard case .invalidOptions(let problems) = error as? FbankError else { return XCTFail("\(error)") }
            XCTAssertEqual(problems.count, 4, "\(problems)")
        }
        XCTAssertNoThrow(try FbankOptions().validate())
    }

    /// `validate()` is where the rules live (`prep features` calls it on the command line): it
    /// must report, never trap on, values no real option has.
    func testValidateReportsNonFiniteAndHugeValuesWithoutTrapping() {
        let cases: [(WritableKeyPath<FbankOptions, Double>, Double, String)] = [
            (\.frameLengthMs, .nan, "frame-length"), (\.frameLengthMs, .infinity, "frame-length"),
            (\.frameLengthMs, 1e300, "frame-length"), (\.frameLengthMs, -25, "frame-length"),
            (\.frameShiftMs, .nan, "frame-shift"), (\.frameShiftMs, -.infinity, "frame-shift"),
            (\.sampleFrequency, .nan, "sample-frequency"), (\.sampleFrequency, .infinity, "sample-frequency"),
            (\.lowFreq, .nan, "low-freq"), (\.highFreq, .infinity, "high-freq"),
            (\.preemphasisCoefficient, .nan, "preemphasis-coefficient"), (\.energyFloor, .nan, "energy-floor"),
            (\.blackmanCoeff, .infinity, "blackman-coeff"),
        ]
        for (keyPath, value, name) in cases {
            var options = FbankOptions.paper
            options[keyPath: keyPath] = value
            XCTAssertThrowsError(try options.validate(), "\(name) \(value)") { error in
                XCTAssertTrue("\(error)".contains(name), "\(name) \(value): \(error)")
            }
        }
        var options = FbankOptions.paper
        options.numMelBins = 2
        XCTAssertThrowsError(try options.validate()) { XCTAssertEqual("\($0)", "invalid fbank options: num-mel-bins must be > 3, got 2") }
    }

    /// With 128 filters on a 512-point FFT at 16 kHz, filter 3 contains no FFT bin: its output is
    /// always log(FLT_EPSILON) = -15.942385, as torchaudio gives (REFERENCE.md step 6).
    func testEmptyMelFilterGivesLogEpsilon() throws {
        let fbank = try KaldiFbank(options: .paper)
        let widths = fbank.melFilterWidths
        XCTAssertEqual(widths.firstIndex(of: 0), 3, "\(widths.prefix(8))")
        XCTAssertEqual(widths.filter { $0 == 0 }.count, 1)
        let features = fbank.compute(Self.signal(count: 16_000))
        XCTAssertEqual(features.count, 98 * 128)
        for frame in 0..<98 {
            XCTAssertEqual(features[frame * 128 + 3], -15.942385, accuracy: 1e-6)
            XCTAssertEqual(features[frame * 128 + 3], log(Float.ulpOfOne))
        }
        XCTAssertEqual(Double(log(Float.ulpOfOne)), -15.942385, accuracy: 1e-6)
    }

    /// One `KaldiFbank` shared by many threads, each with its own workspace, gives bit-identical
    /// results to a serial run; a workspace is reusable across signal lengths.
    func testSharedAcrossThreadsIsBitIdentical() throws {
        let fbank = try KaldiFbank(options: .paper)
        let signals = (0..<8).map { Self.signal(count: 16_000 + 1_601 * $0, seed: UInt64($0 + 1)) }
        let serial = signals.map { fbank.compute($0) }
        final class Results: @unchecked Sendable {   // guarded by `lock`
            private let lock = NSLock()
            private var storage: [[Float]]
            init(_ n: Int) { storage = Array(repeating: [], count: n) }
            subscript(i: Int) -> [Float] {
                get { lock.withLock { storage[i] } }
                set { lock.withLock { storage[i] = newValue } }
            }
        }
        let results = Results(signals.count)
        DispatchQueue.concurrentPerform(iterations: 4) { worker in
            let workspace = KaldiFbank.Workspace(for: fbank)
            for i in stride(from: worker, to: signals.count, by: 4) {
                let frames = fbank.frameCount(sampleCount: signals[i].count)
                var out = [Float](repeating: .nan, count: frames * fbank.featureDimension)
                signals[i].withUnsafeBufferPointer { s in
                    out.withUnsafeMutableBufferPointer { fbank.compute(s, into: $0, workspace: workspace) }
                }
                results[i] = out
            }
        }
        for i in signals.indices {
            XCTAssertEqual(results[i], serial[i], "signal \(i)")
        }
    }

    /// Frames reaching outside a short signal are reflected; a signal shorter than a frame gives
    /// no frames with `snipEdges` (Kaldi; torchaudio refuses it).
    func testShortSignals() throws {
        let paper = try KaldiFbank(options: .paper)
        XCTAssertEqual(paper.compute(Self.signal(count: 300)), [])
        var o = FbankOptions.paper
        o.snipEdges = false
        let reflecting = try KaldiFbank(options: o)
        let features = reflecting.compute(Self.signal(count: 300))
        XCTAssertEqual(features.count, 2 * 128)
        XCTAssertTrue(features.allSatisfy(\.isFinite))
    }

    /// Non-finite energies (here from a huge sample) give what torch gives: +inf after the log,
    /// never a value from the fast log's bit tricks.
    func testInfiniteEnergyStaysInfinite() throws {
        var samples = Self.signal(count: 4_000)
        samples[1_000] = 1e30
        var o = FbankOptions.paper
        o.removeDCOffset = false
        o.preemphasisCoefficient = 0
        o.windowType = .rectangular
        let features = try KaldiFbank(options: o).compute(samples)
        XCTAssertTrue(features.contains(.infinity))
        XCTAssertFalse(features.contains { $0.isNaN })
        XCTAssertTrue(features[(0..<128)].allSatisfy(\.isFinite))   // frame 0 does not reach sample 1000
    }

    func testEnergyColumnPositionAndFloor() throws {
        let samples = Self.signal(count: 8_000)
        var o = FbankOptions.paper
        o.useEnergy = true
        o.htkCompat = true
        let last = try KaldiFbank(options: o).compute(samples)
        o.htkCompat = false
        let first = try KaldiFbank(options: o).compute(samples)
        o.useEnergy = false
        let none = try KaldiFbank(options: o).compute(samples)
        XCTAssertEqual(last.count, 48 * 129)
        for f in 0..<48 {
            XCTAssertEqual(last[f * 129 + 128], first[f * 129])
            XCTAssertEqual(Array(last[(f * 129)..<(f * 129 + 128)]), Array(none[(f * 128)..<(f * 128 + 128)]))
            XCTAssertEqual(Array(first[(f * 129 + 1)..<(f * 129 + 129)]), Array(none[(f * 128)..<(f * 128 + 128)]))
        }
        // A silent signal: log energy floored at log(FLT_EPSILON), or at log(energyFloor) if larger.
        o.useEnergy = true
        o.energyFloor = 0
        XCTAssertEqual(try KaldiFbank(options: o).compute([Float](repeating: 0, count: 400))[0], log(Float.ulpOfOne))
        o.energyFloor = 2
        XCTAssertEqual(try KaldiFbank(options: o).compute([Float](repeating: 0, count: 400))[0], Float(log(2.0)))
    }

    /// `(x - Float(mean)) / Float(2 * std)` element by element, as torch computes it.
    func testNormalisationMatchesTorchArithmetic() {
        let raw = Self.signal(count: 1_003).map { $0 * 20 - 5 }
        var values = raw
        FeatureNormalization.audioset.apply(to: &values)
        let mean = Float(-4.2677393 as Double), divisor = Float(4.5689974 * 2 as Double)
        XCTAssertEqual(values, raw.map { ($0 - mean) / divisor })
        var unchanged = raw
        FeatureNormalization.none.apply(to: &unchanged)
        XCTAssertEqual(unchanged, raw)
        var train = raw
        FeatureNormalization.train(mean: 1.5, std: 0.25).apply(to: &train)
        XCTAssertEqual(train, raw.map { ($0 - 1.5) / 0.5 })
    }

    /// The fast vectorisable log is within one ulp of the exact logarithm (computed in double)
    /// across the range the fbank feeds it: FLT_EPSILON (the floor) up to 1e12.
    func testFastLogIsWithinOneUlp() {
        var worst = 0.0, worstInput: Float = 0
        var bits = Float.ulpOfOne.bitPattern
        let end = Float(1e12).bitPattern
        let step = (end - bits) / 300_000
        while bits < end {
            let x = Float(bitPattern: bits)
            let exact = Foundation.log(Double(x))
            let error = abs(Double(VectorMath.log(x)) - exact) / Double(Float(exact).ulp)
            if error > worst { (worst, worstInput) = (error, x) }
            bits += step
        }
        XCTAssertLessThan(worst, 1, "worst at \(worstInput)")
        XCTAssertEqual(VectorMath.log(1), 0)
    }

    /// The power spectrum (a half-size complex FFT split into the real transform's bins) against
    /// a direct DFT in double precision, for even and odd half sizes, the vectorised path and its
    /// scalar tail, power and magnitude.
    func testPowerSpectrumMatchesDirectDFT() {
        for n in [2, 4, 6, 10, 16, 18, 34, 50, 400, 512, 1024] {
            let signal = Self.signal(count: n, seed: UInt64(n))
            let exact: [Double] = (0..<(n / 2)).map { k in
                var re = 0.0, im = 0.0
                for (j, x) in signal.enumerated() {
                    let angle = -2 * Double.pi * Double(k * j % n) / Double(n)
                    re += Double(x) * cos(angle)
                    im += Double(x) * sin(angle)
                }
                return re * re + im * im
            }
            let scale = exact.max()!
            for magnitude in [false, true] {
                let spectrum = PowerSpectrum(size: n, magnitude: magnitude)
                let frame = PowerSpectrum.Buffer(count: n), scratch = PowerSpectrum.Buffer(count: n)
                frame.pointer.update(from: signal, count: n)
                var power = [Float](repeating: .nan, count: n / 2)
                power.withUnsafeMutableBufferPointer { spectrum.compute(frame, scratch: scratch, into: $0.baseAddress!) }
                for k in 0..<(n / 2) {
                    let want = magnitude ? exact[k].squareRoot() : exact[k]
                    let tolerance = 1e-5 * (magnitude ? scale.squareRoot() : scale)
                    XCTAssertEqual(Double(power[k]), want, accuracy: tolerance, "n \(n) bin \(k) magnitude \(magnitude)")
                }
            }
        }
    }

    /// The blocked transpose equals the naive one for shapes that are and are not multiples of 4.
    func testTransposeMatchesNaive() {
        for (rows, columns) in [(8, 256), (8, 5), (128, 8), (7, 3), (4, 4), (1, 9), (13, 6)] {
            let fromStride = columns + 2, toStride = rows + 3
            let from = (0..<(rows * fromStride)).map(Float.init)
            var to = [Float](repeating: -1, count: columns * toStride)
            from.withUnsafeBufferPointer { f in
                to.withUnsafeMutableBufferPointer { t in
                    VectorMath.transpose(f.baseAddress!, rows: rows, columns: columns, stride: fromStride,
                                         into: t.baseAddress!, stride: toStride)
                }
            }
            for r in 0..<rows {
                for c in 0..<columns { XCTAssertEqual(to[c * toStride + r], from[r * fromStride + c], "\(rows)x\(columns)") }
            }
            for c in 0..<columns {
                for r in rows..<toStride { XCTAssertEqual(to[c * toStride + r], -1, "padding written: \(rows)x\(columns)") }
            }
        }
    }
}
