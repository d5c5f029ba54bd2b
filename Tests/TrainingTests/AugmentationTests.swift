import Training
import XCTest

final class AugmentationTests: XCTestCase {
    func testSpecAugmentMasksBandsWithTheMean() {
        let frames = 798, bins = 128
        var applied = 0
        for trial in 0..<60 {
            var spec = (0..<(frames * bins)).map { Float(($0 * 7919) % 1000) / 1000 }
            let original = spec
            var rng = TrainingRNG(seed: UInt64(trial))
            let did = spec.withUnsafeMutableBufferPointer { SpecAugment().apply($0, frames: frames, bins: bins, using: &rng) }
            if !did {
                XCTAssertEqual(spec, original)
                continue
            }
            applied += 1
            let maskedValues = Set(zip(spec, original).filter { $0 != $1 }.map(\.0))
            XCTAssertLessThanOrEqual(maskedValues.count, 2, "at most two mask values (frequency mean, time mean)")
        }
        // Applied when 1.0 >= randn(): about 84% of the time.
        XCTAssertGreaterThan(applied, 40)
        XCTAssertLessThan(applied, 59)
    }

    func testPatchMixDecision() {
        var rng = TrainingRNG(seed: 3)
        for _ in 0..<50 {
            let d = PatchMixPolicy.decide(batch: 8, patches: 948, mixBeta: 1, using: &rng)
            XCTAssertEqual(d.index.sorted(), (0..<8).map(Int64.init))
            XCTAssertEqual(Set(d.mask).count, d.mask.count)
            XCTAssertTrue(d.mask.allSatisfy { $0 >= 0 && $0 < 948 })
            XCTAssertEqual(d.lam, Float(1 - Double(d.mask.count) / 948))
        }
    }

    func testBetaSamplerMean() {
        var rng = TrainingRNG(seed: 5)
        let n = 20000
        let mean = (0..<n).map { _ in rng.beta(2, 5) }.reduce(0, +) / Double(n)
        XCTAssertEqual(mean, 2.0 / 7.0, accuracy: 0.01)
    }
}
