import Foundation
import ICBHI
import Synthesis
import TestSupport
import XCTest

/// The corpus plan: every vendored annotation, formats per device, the stratified subset order.
final class PlanTests: XCTestCase {
    func plans(recordings: Int? = nil) throws -> [RecordingPlan] {
        var options = SynthesisOptions(outputDirectory: "/nonexistent", metadataDirectory: Fixtures.metadataDirectory)
        options.recordings = recordings
        return try CorpusSynthesizer(options: options).plan()
    }

    func testThePlanHoldsAll920RecordingsWithTheOfficialCounts() throws {
        let all = try plans()
        XCTAssertEqual(all.count, KnownCorpusFacts.recordings)
        XCTAssertEqual(Set(all.map(\.stem)).count, KnownCorpusFacts.recordings)
        var census = CycleCensus()
        for plan in all { census.add(plan.cycles, in: plan.split) }
        XCTAssertEqual(census.byClass(in: .train), KnownCorpusFacts.trainByClass)
        XCTAssertEqual(census.byClass(in: .test), KnownCorpusFacts.testByClass)
        let hours = all.reduce(0) { $0 + $1.duration } / 3600
        XCTAssertEqual(hours, 5.5, accuracy: 0.15, "ICBHI holds about 5.5 h of audio")
        for plan in all {
            XCTAssertGreaterThanOrEqual(plan.duration, plan.cycles.map(\.end).max()!, plan.stem.name)
            XCTAssertEqual(plan.sampleRate, plan.stem.device == .litt3200 ? 4000 : 44100)
        }
        XCTAssertEqual(Set(all.map(\.bitDepth)), [16, 24, 32])
    }

    func testEveryPrefixOfEightOrMoreHoldsBothSplitsAndAllClasses() throws {
        let ordered = try plans()
        for n in [8, 9, 20, 50] {
            let prefix = Array(ordered.prefix(n))
            for split in [Split.train, .test] {
                let labels = Set(prefix.filter { $0.split == split }.flatMap(\.cycles).map(\.label))
                XCTAssertEqual(labels, Set(CycleLabel.allCases), "first \(n), \(split)")
            }
        }
        // The first eight are one recording of each (split, rarest class) stratum.
        let strata = Set(ordered.prefix(8).map { "\($0.split)-\($0.stratumLabel)" })
        XCTAssertEqual(strata.count, 8, "\(strata)")
        // A subset is a prefix of the full order, and the order does not depend on the seed.
        XCTAssertEqual(try plans(recordings: 30).map(\.stem), Array(ordered.prefix(30)).map(\.stem))
        // Proportional: 100 recordings keep the corpus's train share (539 / 920) within a few.
        let trainShare = Double(ordered.prefix(100).filter { $0.split == .train }.count)
        XCTAssertEqual(trainShare, 100 * 539 / 920, accuracy: 4)
    }

    func testRecordingSeedsDependOnSeedAndStem() throws {
        let a = try RecordingStem(parsing: "101_1b1_Al_sc_Meditron"), b = try RecordingStem(parsing: "101_1b1_Pr_sc_Meditron")
        XCTAssertEqual(CorpusSynthesizer.recordingSeed(corpusSeed: 1, stem: a), CorpusSynthesizer.recordingSeed(corpusSeed: 1, stem: a))
        XCTAssertNotEqual(CorpusSynthesizer.recordingSeed(corpusSeed: 1, stem: a), CorpusSynthesizer.recordingSeed(corpusSeed: 2, stem: a))
        XCTAssertNotEqual(CorpusSynthesizer.recordingSeed(corpusSeed: 1, stem: a), CorpusSynthesizer.recordingSeed(corpusSeed: 1, stem: b))
        // Pinned values: the generators must not change silently (that would change every corpus).
        var mix = SplitMix64(seed: 0)
        XCTAssertEqual(mix.next(), 0xE220_A839_7B1D_CDAF)
        // xoshiro256** seeded from SplitMix64(0), as computed by the authors' reference algorithm.
        var x = Xoshiro256StarStar(seed: 0)
        XCTAssertEqual(x.next(), 0x99EC_5F36_CB75_F2B4)
        XCTAssertEqual(x.next(), 0xBF6E_1F78_4956_452A)
    }
}
