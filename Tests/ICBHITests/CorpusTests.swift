import Foundation
import ICBHI
import XCTest

/// Parses all 920 vendored annotation files and checks the published corpus counts.
final class CorpusTests: XCTestCase {
    func testAllRealAnnotationsReproduceTheKnownCounts() throws {
        let metadata = try DatasetMetadata(directory: Fixtures.metadataDirectory)
        let names = try Fixtures.annotationStems()
        XCTAssertEqual(names.count, KnownCorpusFacts.recordings)

        let clock = ContinuousClock()
        var census = CycleCensus()
        var recordingsBySplit: [Split: Int] = [:]
        var longCycles = 0, shortCycles = 0, parsed = 0
        let elapsed = try clock.measure {
            for name in names {
                parsed += 1
                let stem = try RecordingStem(parsing: name)
                let url = Fixtures.annotationDirectory.appendingPathComponent(name + ".txt")
                let (cycles, problems) = try AnnotationParser.parse(contentsOf: url)
                XCTAssertEqual(problems, [], name)
                XCTAssertFalse(cycles.isEmpty, name)
                let split = metadata.split(of: stem)
                recordingsBySplit[split, default: 0] += 1
                census.add(cycles, in: split)
                longCycles += cycles.filter { $0.duration > 8 }.count
                shortCycles += cycles.filter { $0.duration < 0.5 }.count
            }
        }
        // What happened, not how fast (the old "under 1 s" measured the host): every file parsed.
        XCTAssertEqual(parsed, KnownCorpusFacts.recordings)
        print("parsed \(parsed) annotation files in \(elapsed)")

        XCTAssertEqual(census.total, KnownCorpusFacts.cycles)
        XCTAssertEqual(census.total, 6898)
        XCTAssertEqual(census.byClass, [3642, 1864, 886, 506])
        XCTAssertEqual(census.byClass, KnownCorpusFacts.allByClass)
        XCTAssertEqual(census.total(in: .train), 4142)
        XCTAssertEqual(census.byClass(in: .train), [2063, 1215, 501, 363])
        XCTAssertEqual(census.total(in: .test), 2756)
        XCTAssertEqual(census.byClass(in: .test), [1579, 649, 385, 143])
        XCTAssertEqual(census.total(in: .unassigned), 0)
        XCTAssertEqual(census.total(in: .train), KnownCorpusFacts.trainCycles)
        XCTAssertEqual(census.total(in: .test), KnownCorpusFacts.testCycles)
        XCTAssertTrue(census.matchesKnownCorpus)
        XCTAssertEqual(recordingsBySplit, [.train: 539, .test: 381])
        XCTAssertEqual(longCycles, 15)
        XCTAssertEqual(shortCycles, 41)
    }

    func testKnownFactsAreSelfConsistent() {
        XCTAssertEqual(KnownCorpusFacts.trainByClass.reduce(0, +), KnownCorpusFacts.trainCycles)
        XCTAssertEqual(KnownCorpusFacts.testByClass.reduce(0, +), KnownCorpusFacts.testCycles)
        XCTAssertEqual(KnownCorpusFacts.trainCycles + KnownCorpusFacts.testCycles, KnownCorpusFacts.cycles)
        XCTAssertEqual(zip(KnownCorpusFacts.trainByClass, KnownCorpusFacts.testByClass).map(+), KnownCorpusFacts.allByClass)
        XCTAssertEqual(KnownCorpusFacts.trainRecordings + KnownCorpusFacts.testRecordings, KnownCorpusFacts.recordings)
    }

    func testCensusDetectsAMissingCycle() {
        var census = CycleCensus()
        for (label, count) in zip(CycleLabel.allCases, KnownCorpusFacts.trainByClass) {
            for _ in 0..<count { census.add(label, in: .train) }
        }
        for (label, count) in zip(CycleLabel.allCases, KnownCorpusFacts.testByClass) {
            for _ in 0..<count { census.add(label, in: .test) }
        }
        XCTAssertTrue(census.matchesKnownCorpus)
        census.add(.wheeze, in: .unassigned)
        XCTAssertFalse(census.matchesKnownCorpus)
    }
}
