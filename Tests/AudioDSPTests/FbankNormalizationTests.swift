@testable import AudioDSP
import Foundation
import XCTest

/// `KaldiFbank.compute(_:into:workspace:normalizedBy:)` normalises while it computes; the result
/// must be bit-identical to computing and then calling `FeatureNormalization.apply(to:)`.
final class FbankNormalizationTests: XCTestCase {
    /// Random noise of `count` samples (a seeded LCG), scaled by `gain`.
    static func noise(count: Int, seed: UInt64, gain: Float) -> [Float] {
        var state = seed
        return (0..<count).map { _ in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return gain * (Float(state >> 40) / Float(1 << 24) - 0.5)
        }
    }

    static var optionVariants: [(String, FbankOptions)] {
        var variants: [(String, FbankOptions)] = [("paper", .paper), ("kaldi defaults", FbankOptions())]
        var energy = FbankOptions.paper
        energy.useEnergy = true
        variants.append(("energy first", energy))
        var htk = energy
        htk.htkCompat = true
        variants.append(("energy last (htk)", htk))
        var floored = htk
        floored.energyFloor = 1.5
        floored.rawEnergy = false
        variants.append(("htk, energy floor", floored))
        var htkNoEnergy = FbankOptions.paper
        htkNoEnergy.htkCompat = true
        variants.append(("htk, no energy", htkNoEnergy))
        var linear = energy
        linear.useLogFbank = false
        linear.usePower = false
        linear.snipEdges = false
        variants.append(("no log, magnitude, no snip", linear))
        return variants
    }

    static let normalisations: [FeatureNormalization] = [
        .none, .audioset, .train(mean: -6.123456789, std: 3.3333333), .train(mean: 0.1, std: 1e-3),
    ]

    func testFusedNormalisationIsBitIdenticalToComputeThenApply() throws {
        // Lengths giving full and partial batches of 8 frames; silence hits the log floor.
        let signals: [[Float]] = [
            FbankUnitTests.signal(count: 16_000, seed: 3),
            Self.noise(count: 400 + 160 * 12 + 37, seed: 7, gain: 2),
            Self.noise(count: 401, seed: 11, gain: 30_000),
            Self.noise(count: 5_123, seed: 13, gain: 1e-4),
            [Float](repeating: 0, count: 3_000),
        ]
        var compared = 0
        for (name, options) in Self.optionVariants {
            let fbank = try KaldiFbank(options: options)
            let workspace = KaldiFbank.Workspace(for: fbank)
            for (s, signal) in signals.enumerated() {
                let count = fbank.frameCount(sampleCount: signal.count) * fbank.featureDimension
                for normalisation in Self.normalisations {
                    var expected = [Float](repeating: .nan, count: count)
                    var fused = [Float](repeating: .nan, count: count)
                    signal.withUnsafeBufferPointer { samples in
                        expected.withUnsafeMutableBufferPointer { out in
                            fbank.compute(samples, into: out, workspace: workspace)
                            normalisation.apply(to: out)
                        }
                        fused.withUnsafeMutableBufferPointer { out in
                            fbank.compute(samples, into: out, workspace: workspace, normalizedBy: normalisation)
                        }
                    }
                    let mismatch = expected.indices.first { expected[$0].bitPattern != fused[$0].bitPattern }
                    XCTAssertNil(mismatch, "\(name), signal \(s), \(normalisation): value \(mismatch ?? -1) differs")
                    compared += count
                }
            }
        }
        XCTAssertGreaterThan(compared, 100_000)
    }

    /// The default is no normalisation: the plain features.
    func testDefaultIsUnnormalised() throws {
        let fbank = try KaldiFbank(options: .paper)
        let signal = FbankUnitTests.signal(count: 8_000)
        let workspace = KaldiFbank.Workspace(for: fbank)
        var a = [Float](repeating: 0, count: fbank.frameCount(sampleCount: signal.count) * fbank.featureDimension)
        var b = a
        signal.withUnsafeBufferPointer { samples in
            a.withUnsafeMutableBufferPointer { fbank.compute(samples, into: $0, workspace: workspace) }
            b.withUnsafeMutableBufferPointer { fbank.compute(samples, into: $0, workspace: workspace, normalizedBy: .none) }
        }
        XCTAssertEqual(a.map(\.bitPattern), b.map(\.bitPattern))
        XCTAssertEqual(a.map(\.bitPattern), fbank.compute(signal).map(\.bitPattern))
    }
}
