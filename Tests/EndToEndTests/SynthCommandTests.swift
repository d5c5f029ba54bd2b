import AudioDSP
import Foundation
import ICBHI
import Synthesis
import TestSupport
import XCTest

/// `prep synth` end to end through the real binary: determinism, verbatim annotations, WAV
/// formats and lengths, the README, and the safety rules for the output directory.
final class SynthCommandTests: XCTestCase {
    var workspace: String!

    override func setUpWithError() throws {
        workspace = try Fixtures.scratchDirectory("synth")
    }

    override func tearDownWithError() throws {
        if let workspace { try? FileManager.default.removeItem(atPath: workspace) }
    }

    @discardableResult
    func synth(_ arguments: [String], expectStatus: Int32 = 0, file: StaticString = #filePath, line: UInt = #line) throws -> ProcessOutput {
        let result = try Fixtures.run("prep", ["synth", "--metadata", Fixtures.metadataDirectory] + arguments, in: workspace)
        XCTAssertEqual(result.status, expectStatus, "prep synth \(arguments.joined(separator: " ")):\n\(result)", file: file, line: line)
        return result
    }

    func testSameSeedIsByteIdenticalForAnyJobsAndAnotherSeedChangesTheAudio() throws {
        let one = workspace + "/one", two = workspace + "/two", other = workspace + "/other"
        let result = try synth(["--out", one, "--recordings", "6", "--seed", "7", "--jobs", "1"])
        XCTAssertTrue(result.stdout.contains("synthesised 6 recordings"), result.stdout)
        try synth(["--out", two, "--recordings", "6", "--seed", "7", "--jobs", "2"])
        try synth(["--out", other, "--recordings", "6", "--seed", "8", "--jobs", "2"])

        let first = try Fixtures.fileBytes(under: one), second = try Fixtures.fileBytes(under: two)
        XCTAssertEqual(first.keys.filter { $0.hasSuffix(".wav") }.count, 6)
        XCTAssertEqual(first.keys.filter { $0.hasSuffix(".txt") }.count, 7, "6 annotations and README.txt")
        XCTAssertEqual(Set(first.keys), Set(second.keys))
        for (name, bytes) in first {
            XCTAssertEqual(bytes, second[name], "\(name) differs between --jobs 1 and --jobs 2")
        }
        let changed = try Fixtures.fileBytes(under: other)
        for (name, bytes) in first where name.hasSuffix(".wav") {
            let decodedA = try AudioDecoder.decode(contentsOf: one + "/" + name)
            let decodedB = try AudioDecoder.decode(contentsOf: other + "/" + name)
            XCTAssertEqual(decodedA.frames, decodedB.frames, "\(name): the length depends on the stem only")
            XCTAssertNotEqual(bytes, changed[name], "\(name): seed 8 gave the same audio as seed 7")
            // Not merely different: uncorrelated.
            let a = decodedA.samples, b = decodedB.samples
            let dot = zip(a, b).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
            let norms = (a.reduce(0.0) { $0 + Double($1 * $1) } * b.reduce(0.0) { $0 + Double($1 * $1) }).squareRoot()
            XCTAssertLessThan(abs(dot / norms), 0.2, "\(name): seeds 7 and 8 correlate")
        }
    }

    func testAnnotationsAreVerbatimAndWAVsHaveTheDeviceFormatAndCoverEveryCycle() throws {
        let out = workspace + "/corpus"
        try synth(["--out", out, "--recordings", "12"])
        let names = try FileManager.default.contentsOfDirectory(atPath: out)
        let stems = names.filter { $0.hasSuffix(".wav") }.map { String($0.dropLast(4)) }.sorted()
        XCTAssertEqual(stems.count, 12)
        XCTAssertFalse(names.contains { $0.hasPrefix(".") }, "temporary files left behind: \(names)")
        var rates = Set<Int>(), depths = Set<Int>()
        for name in stems {
            let stem = try RecordingStem(parsing: name)
            let vendored = try Data(contentsOf: URL(fileURLWithPath: Fixtures.annotationsDirectory + "/" + name + ".txt"))
            XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: out + "/" + name + ".txt")), vendored, "\(name).txt not verbatim")

            let audio = try AudioDecoder.decode(contentsOf: out + "/" + name + ".wav")
            let expectedRate = stem.device == .litt3200 ? 4000 : 44100
            XCTAssertEqual(audio.sampleRate, expectedRate, name)
            XCTAssertEqual(audio.channels, 1, name)
            XCTAssertEqual(audio.bitDepth, RecordingFormat.bitDepth(of: stem), name)
            if stem.device == .litt3200 { XCTAssertEqual(audio.bitDepth, 16, name) }
            rates.insert(audio.sampleRate)
            depths.insert(audio.bitDepth)

            let cycles = AnnotationParser.parse(vendored, file: name).cycles
            let lastEnd = cycles.map(\.end).max()!
            XCTAssertGreaterThanOrEqual(audio.duration, lastEnd, "\(name): audio ends before its last cycle")
            XCTAssertLessThanOrEqual(audio.duration, max(20, lastEnd + 1), "\(name): audio much longer than its annotation")
            for cycle in cycles {
                let bounds = cycle.sliceBounds(sampleRate: 16000, frames: Int((audio.duration * 16000).rounded(.up)))
                XCTAssertEqual(bounds.count, Int(cycle.end * 16000) - Int(cycle.start * 16000), "\(name) cycle \(cycle.index) clamped")
            }
            let peak = audio.samples.map(abs).max()!
            XCTAssertGreaterThan(peak, 0.05, "\(name): nearly silent")
            XCTAssertLessThan(peak, 0.95, "\(name): clipping")
        }
        XCTAssertEqual(rates, [4000, 44100])
        XCTAssertEqual(depths, [16, 24, 32])
    }

    func testREADMESaysSyntheticAndOnlySynthDirectoriesAreReused() throws {
        let out = workspace + "/corpus"
        try synth(["--out", out, "--recordings", "9", "--sample-rate-override", "4000"])
        let readme = try String(contentsOfFile: out + "/README.txt", encoding: .utf8)
        XCTAssertTrue(readme.hasPrefix(CorpusSynthesizer.readmeMarker))
        XCTAssertTrue(readme.contains("SYNTHETIC"))
        XCTAssertTrue(readme.contains("not, and\nis not derived from, the licensed ICBHI 2017"), readme)

        // A rerun with fewer recordings leaves exactly the new subset (a prefix of the old one).
        let before = Set(try FileManager.default.contentsOfDirectory(atPath: out))
        _ = FileManager.default.createFile(atPath: out + "/.101_1b1_Al_sc_Meditron.wav.partial", contents: Data([1, 2, 3]))
        let rerun = try synth(["--out", out, "--recordings", "4", "--sample-rate-override", "4000"])
        XCTAssertTrue(rerun.stdout.contains("removed 10 stale files"), rerun.stdout)
        let after = Set(try FileManager.default.contentsOfDirectory(atPath: out))
        XCTAssertEqual(after.count, 9)
        XCTAssertTrue(after.isSubset(of: before))

        // A directory that is not a synth output is never written into.
        let foreign = workspace + "/foreign"
        try FileManager.default.createDirectory(atPath: foreign, withIntermediateDirectories: true)
        try Data("real".utf8).write(to: URL(fileURLWithPath: foreign + "/101_1b1_Al_sc_Meditron.wav"))
        let refused = try synth(["--out", foreign, "--recordings", "2"], expectStatus: 1)
        XCTAssertTrue(refused.stderr.contains("refusing to write into a non-empty directory"), refused.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: foreign), ["101_1b1_Al_sc_Meditron.wav"])

        for (arguments, message) in [(["--recordings", "0"], "--recordings must be at least 1, got 0"),
                                     (["--jobs", "0"], "--jobs must be at least 1, got 0"),
                                     (["--sample-rate-override", "999"], "--sample-rate-override must be between 1000 and 192000 Hz")] {
            let result = try synth(["--out", out] + arguments, expectStatus: 64)
            XCTAssertTrue(result.stderr.contains(message), result.stderr)
            XCTAssertEqual(result.stderr.components(separatedBy: "Error:").count - 1, 1, result.stderr)
        }
        // SPRSound's annotations are not redistributed here: the user names them.
        let sprsound = try Fixtures.run("prep", ["synth", "--corpus", "sprsound", "--out", out], in: workspace)
        XCTAssertEqual(sprsound.status, 64, sprsound.stderr)
        XCTAssertTrue(sprsound.stderr.contains("--corpus sprsound needs --annotations DIR"), sprsound.stderr)
    }
}
