import Foundation
import ICBHI
import Manifests
import TestSupport
import XCTest

/// Issue 5, acceptance 2 (and issue 2, acceptance 2: the 920 real annotation files with generated
/// audio of the right length): `prep synth` on all 920 vendored annotation files, then
/// `prep ingest`, gives exactly the official cycle counts. The corpus is written at 4 kHz
/// (`--sample-rate-override 4000`, hidden) so that the debug build stays fast; formats at the
/// devices' own rates are covered by Tests/SynthesisTests.
final class SynthIngestTests: PrepTestCase {
    func testSynthesisedFullCorpusIngestsToTheOfficialCycleCounts() throws {
        let corpus = workspace + "/synthetic"
        var started = Date()
        let synth = try Fixtures.run("prep", ["synth", "--out", corpus, "--metadata", Fixtures.metadataDirectory,
                                              "--sample-rate-override", "4000"], in: workspace)
        XCTAssertEqual(synth.status, 0, "\(synth)")
        XCTAssertTrue(synth.stdout.contains("synthesised 920 recordings, 6898 cycles (3642 normal, 1864 crackle, 886 wheeze, 506 both)"),
                      synth.stdout)
        print("synth of 920 recordings at 4 kHz: \(String(format: "%.1f", Date().timeIntervalSince(started))) s")

        started = Date()
        let result = try prep(["ingest", corpus, "--resampler", "sinc-fastest", "--strict"])
        print("ingest of the synthetic corpus: \(String(format: "%.1f", Date().timeIntervalSince(started))) s")
        let cycles = try ManifestStore(directory: manifests).readCycles()
        var census = CycleCensus()
        for cycle in cycles { census.add(cycle.label, in: cycle.split) }
        XCTAssertEqual(cycles.count, KnownCorpusFacts.cycles)
        XCTAssertEqual(census.byClass(in: .train), KnownCorpusFacts.trainByClass)
        XCTAssertEqual(census.byClass(in: .test), KnownCorpusFacts.testByClass)
        XCTAssertEqual(census.total(in: .train), 4142)
        XCTAssertEqual(census.total(in: .test), 2756)
        XCTAssertEqual(try ManifestStore(directory: manifests).readRecordings().count, KnownCorpusFacts.recordings)
        XCTAssertTrue(result.stdout.contains("6898"), result.stdout)
        XCTAssertFalse(result.stdout.contains("skipped ("), result.stdout)
        XCTAssertFalse(result.stdout.contains("clamped"), result.stdout)

        // Same seed, byte-identical files (here against a second run with one job).
        let again = workspace + "/again"
        let rerun = try Fixtures.run("prep", ["synth", "--out", again, "--metadata", Fixtures.metadataDirectory,
                                              "--sample-rate-override", "4000", "--jobs", "1"], in: workspace)
        XCTAssertEqual(rerun.status, 0, "\(rerun)")
        let first = try Fixtures.fileBytes(under: corpus), second = try Fixtures.fileBytes(under: again)
        XCTAssertEqual(first.count, 2 * KnownCorpusFacts.recordings + 1)
        XCTAssertEqual(first, second, "the same seed gave different files")
    }
}
