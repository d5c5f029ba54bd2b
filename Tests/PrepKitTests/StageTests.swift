import AudioDSP
import FeatureStore
import Foundation
import ICBHI
import PrepKit
import TestSupport
import XCTest

/// The `prep` stages as library code, the way `prep ingest`, `prep features` and `prep verify`
/// call them, on the real ICBHI sample (10 recordings, 97 annotated cycles): no process, no CLI.
/// One ingest and one features run per class (class-level setUp); each test reads the results.
/// Options that keep a debug build quick where they are not what is tested: libsamplerate's
/// fastest converter and 2 s cycles (the pipelines' defaults are covered end to end).
final class StageTests: XCTestCase {
    static let recordings = 10, cycles = 97

    /// Results of the class's one ingest + features run (written once in `setUp`, then only read).
    private struct Stages: @unchecked Sendable {
        var workspace: String
        var ingest: IngestReport
        var features: FeaturePipeline.Outcome
        var ingestOptions: IngestOptions
        var featureOptions: FeatureOptions
    }
    nonisolated(unsafe) private static var stages: Result<Stages, Error>?

    private static func makeStages() throws -> Stages {
        try Fixtures.requireShared()
        let workspace = try Fixtures.scratchDirectory("prepkit-stages")
        let console = Console(interactive: false)
        console.quiet = true
        var ingestOptions = IngestOptions(datasetDirectory: Fixtures.sampleDirectory)
        ingestOptions.cacheDirectory = workspace + "/cache"
        ingestOptions.manifestDirectory = workspace + "/manifests"
        ingestOptions.metadataDirectory = Fixtures.metadataDirectory
        ingestOptions.resampler = .sincFastest
        ingestOptions.jobs = 2
        let ingest = try IngestPipeline(options: ingestOptions, console: console).run()

        var featureOptions = FeatureOptions()
        featureOptions.cacheDirectory = ingestOptions.cacheDirectory
        featureOptions.lengthFixing = LengthFixing(length: 2 * 16000, mode: .repeat, fadeOutLength: 1000)
        featureOptions.shardSize = 32
        featureOptions.jobs = 2
        let features = try FeaturePipeline(options: featureOptions, console: console).run()
        return Stages(workspace: workspace, ingest: ingest, features: features,
                      ingestOptions: ingestOptions, featureOptions: featureOptions)
    }

    override class func setUp() {
        super.setUp()
        stages = Result { try makeStages() }
    }

    override class func tearDown() {
        if case .success(let stages)? = stages { try? FileManager.default.removeItem(atPath: stages.workspace) }
        stages = nil
        super.tearDown()
    }

    private var stages: Stages {
        get throws { try XCTUnwrap(Self.stages, "class setUp did not run").get() }
    }

    private var quietConsole: Console {
        let console = Console(interactive: false)
        console.quiet = true
        return console
    }

    func testIngestOfTheRealSampleKeepsEveryRecordingAndCycle() throws {
        let report = try stages.ingest
        XCTAssertEqual(report.recordings.count, Self.recordings)
        XCTAssertEqual(report.cycles.count, Self.cycles)
        XCTAssertEqual(report.skipped.map(\.description), [])
        XCTAssertEqual(report.processed, Self.recordings)
        XCTAssertEqual(report.reused, 0)
        XCTAssertTrue(report.manifestsChanged)
        XCTAssertEqual(Set(report.recordings.map(\.stem.name)),
                       Set(try FileManager.default.contentsOfDirectory(atPath: Fixtures.sampleDirectory)
                            .filter { $0.hasSuffix(".wav") }.map { String($0.dropLast(4)) }))
        // Every cycle is a non-empty 16 kHz slice of its recording, in the recording's split.
        for cycle in report.cycles {
            XCTAssertLessThan(cycle.start, cycle.end, "\(cycle.recording.name) #\(cycle.index)")
            XCTAssertLessThan(cycle.sliceBegin, cycle.sliceEnd, "\(cycle.recording.name) #\(cycle.index)")
        }
        XCTAssertEqual(Set(report.cycles.map(\.split)), [.train, .test], "the sample has both splits")
        let manifests = try stages.ingestOptions.manifestDirectory
        for name in ["recordings.csv", "cycles.csv"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: manifests + "/" + name), name)
        }
    }

    func testIngestAgainWithNothingChangedDoesNothing() throws {
        let again = try IngestPipeline(options: stages.ingestOptions, console: quietConsole).run()
        XCTAssertTrue(again.wasNoOp, again.summary())
        XCTAssertEqual(again.processed, 0)
        XCTAssertEqual(again.reused, Self.recordings)
        XCTAssertEqual(again.cycles.count, Self.cycles)
    }

    func testFeaturesWriteOneRowPerCycleInShardsOfTheRequestedSize() throws {
        let outcome = try stages.features, ingest = try stages.ingest
        let index = outcome.index
        XCTAssertFalse(outcome.upToDate)
        XCTAssertEqual(outcome.reusedShards, 0)
        // 2 s at 16 kHz, 25 ms frames every 10 ms (snip edges): 1 + (32000 - 400) / 160 frames.
        XCTAssertEqual(index.frames, 1 + (32000 - 400) / 160)
        XCTAssertEqual(index.bins, 128)
        XCTAssertEqual(index.shards.map(\.rows).reduce(0, +), Self.cycles)
        XCTAssertTrue(index.shards.allSatisfy { $0.rows >= 1 && $0.rows <= 32 }, "\(index.shards.map(\.rows))")
        XCTAssertEqual(index.rowsBySplit, ["train": ingest.cycles.filter { $0.split == .train }.count,
                                           "test": ingest.cycles.filter { $0.split == .test }.count])
        for shard in index.shards {
            XCTAssertTrue(FileManager.default.fileExists(atPath: outcome.directory + "/" + shard.file), shard.file)
        }
        XCTAssertEqual(try FeatureSetIndex.read(directory: outcome.directory), index)
    }

    func testFeaturesAgainWithNothingChangedIsUpToDate() throws {
        let again = try FeaturePipeline(options: stages.featureOptions, console: quietConsole).run()
        XCTAssertTrue(again.upToDate, again.summary())
        XCTAssertEqual(again.directory, try stages.features.directory)
        XCTAssertEqual(again.index.shards, try stages.features.index.shards)
    }

    func testVerifyFindsNothingWrongWithTheResult() throws {
        let stages = try stages
        XCTAssertEqual(FeatureSetVerifier.featureSets(in: stages.ingestOptions.cacheDirectory), [stages.features.directory])
        XCTAssertEqual(FeatureSetVerifier.verify(directory: stages.features.directory).map(\.description), [])
        let ingest = try XCTUnwrap(FeatureSetVerifier.verifyIngest(cacheDirectory: stages.ingestOptions.cacheDirectory))
        XCTAssertEqual(ingest.findings.map(\.description), [])
        XCTAssertEqual(ingest.recordings, Self.recordings)
        XCTAssertEqual(ingest.cycles, Self.cycles)
    }

    /// The clean verify above means something: one flipped byte in a copy of a shard is found.
    func testVerifyFindsAFlippedByteInACopy() throws {
        let stages = try stages
        let copy = try Fixtures.scratchDirectory("prepkit-verify")
        defer { try? FileManager.default.removeItem(atPath: copy) }
        let directory = copy + "/features"
        try FileManager.default.copyItem(atPath: stages.features.directory, toPath: directory)
        let shard = directory + "/" + (try XCTUnwrap(stages.features.index.shards.first)).file
        var bytes = try Data(contentsOf: URL(fileURLWithPath: shard))
        bytes[bytes.count - 5] ^= 0x40
        try bytes.write(to: URL(fileURLWithPath: shard))
        let findings = FeatureSetVerifier.verify(directory: directory)
        XCTAssertFalse(findings.isEmpty, "a flipped byte in \(shard) went unnoticed")
    }
}
