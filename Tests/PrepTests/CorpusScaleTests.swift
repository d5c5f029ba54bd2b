import AudioDSP
import FeatureStore
import Foundation
import ICBHI
import TestSupport
import XCTest

/// Acceptance (ingest 2): all 920 real annotation files, with generated audio of the right length
/// (short, low-rate: 4 kHz 16-bit noise), give exactly the official cycle counts.
final class CorpusScaleTests: PrepTestCase {
    func testAll920AnnotationFilesGiveTheOfficialCycleCounts() throws {
        let dataset = workspace + "/icbhi"
        try FileManager.default.createDirectory(atPath: dataset, withIntermediateDirectories: true)
        let annotations = try FileManager.default.contentsOfDirectory(atPath: Fixtures.annotationsDirectory).filter { $0.hasSuffix(".txt") }
        XCTAssertEqual(annotations.count, KnownCorpusFacts.recordings)
        let rate = 4000
        // One block of quiet noise (a fixed LCG: fast even in debug builds); each file takes a prefix.
        var state: UInt32 = 12345
        let noise = (0..<(90 * rate)).map { _ -> Float in
            state = state &* 1_664_525 &+ 1_013_904_223
            return Float(Int32(bitPattern: state) >> 8) / Float(1 << 23) * 0.1
        }
        for name in annotations {
            let source = Fixtures.annotationsDirectory + "/" + name
            try FileManager.default.copyItem(atPath: source, toPath: dataset + "/" + name)
            let cycles = AnnotationParser.parse(try Data(contentsOf: URL(fileURLWithPath: source)), file: source).cycles
            let seconds = (cycles.map(\.end).max() ?? 1) + 0.5
            let samples = Array(noise.prefix(Int(seconds * Double(rate))))
            XCTAssertEqual(samples.count, Int(seconds * Double(rate)), "noise block too short for \(name)")
            try AudioEncoder.writeWAV(samples, sampleRate: rate, to: dataset + "/" + String(name.dropLast(4)) + ".wav")
        }
        let started = Date()
        let result = try prep(["ingest", dataset, "--resampler", "sinc-fastest"])
        print("ingest of 920 generated recordings: \(String(format: "%.1f", Date().timeIntervalSince(started))) s")

        let cycles = try ManifestStore(directory: manifests).readCycles()
        var census = CycleCensus()
        for cycle in cycles { census.add(cycle.label, in: cycle.split) }
        XCTAssertEqual(cycles.count, KnownCorpusFacts.cycles)
        XCTAssertEqual(census.byClass(in: .train), KnownCorpusFacts.trainByClass)
        XCTAssertEqual(census.byClass(in: .test), KnownCorpusFacts.testByClass)
        XCTAssertEqual(census.total(in: .train), 4142)
        XCTAssertEqual(census.total(in: .test), 2756)
        XCTAssertEqual(try ManifestStore(directory: manifests).readRecordings().count, 920)
        XCTAssertTrue(result.stdout.contains("6898"), result.stdout)
        XCTAssertFalse(result.stdout.contains("skipped ("), result.stdout)
    }
}
