import AudioDSP
import Foundation
import ICBHI
import TestSupport
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// Property-based fuzzing of the parsers that read untrusted files: the annotation parser,
/// the stem parser and WAV decoding (libsndfile) of mutated real recordings. Time-bounded:
/// `FUZZ_SECONDS` in total (default 60, split 30/20/50 % across the three targets); run longer
/// with `FUZZ_SECONDS=600 swift test --filter Fuzz`. `FUZZ_SEED` changes the seed.
///
/// The input under test is always on disk (`<artifacts>/current-*`, path printed first), so a
/// crash that kills the test process leaves the input that caused it for a regression test.
final class FuzzTests: XCTestCase {
    private static let artifacts: String = {
        // One directory per process: test runs at the same time on one host never share current-*.
        let path = ProcessInfo.processInfo.environment["FUZZ_ARTIFACTS"]
            ?? FileManager.default.temporaryDirectory.appendingPathComponent("respcache-fuzz-\(getpid())").path
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }()

    /// A run that ends (no crash) leaves nothing behind in the default per-process directory.
    override class func tearDown() {
        if ProcessInfo.processInfo.environment["FUZZ_ARTIFACTS"] == nil { try? FileManager.default.removeItem(atPath: artifacts) }
        super.tearDown()
    }

    /// Keeps the current input on disk cheaply (one descriptor, truncate + pwrite).
    private final class CurrentInput {
        let path: String
        private let descriptor: Int32
        init(_ name: String) {
            path = FuzzTests.artifacts + "/" + name
            descriptor = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        }
        func record(_ bytes: [UInt8]) {
            ftruncate(descriptor, 0)
            _ = bytes.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, 0) }
        }
        deinit { close(descriptor) }
    }

    private func seconds(_ share: Double) -> Double { FuzzBudget.totalSeconds * share }

    // MARK: Annotation parser

    func testFuzzAnnotationParser() throws {
        let seeds = try annotationSeeds()
        let dictionary: [[UInt8]] = ["\t", "\r\n", "\r", "\n", " ", "0", "1", "-0", "1e308", "1e309", "nan", "inf", "-1",
                                     "0x1p3", ".", "..", "+", "e", "\u{FEFF}", "\u{00A0}", "\u{2028}", "\u{0301}",
                                     "\u{FF11}", "\u{0661}", "99999999999999999999", "0.000000000000000000001"].map { Array($0.utf8) }
        var mutator = Mutator(seed: FuzzBudget.seed, dictionary: dictionary + [[0xC3], [0xFF, 0xFE], [0xED, 0xA0, 0x80]])
        let current = CurrentInput("current-annotation.txt")
        print("fuzz annotation parser: \(seeds.count) seed files, input under test at \(current.path)")
        var cyclesSeen = 0, problemsSeen = 0
        let iterations = FuzzBudget.run(seconds: seconds(0.3)) { _ in
            let input = mutator.mutate(seeds.randomElement(using: &mutator.random)!, maxMutations: 6, others: seeds)
            current.record(input)
            let data = Data(input)
            let (cycles, problems) = AnnotationParser.parse(data, file: "fuzz.txt")
            cyclesSeen += cycles.count
            problemsSeen += problems.count
            let lines = input.filter { $0 == 0x0A || $0 == 0x0D }.count + 1
            for (k, cycle) in cycles.enumerated() {
                if !(cycle.start.isFinite && cycle.end.isFinite && cycle.start >= 0 && cycle.end > cycle.start && cycle.index == k) {
                    XCTFail("invalid cycle \(cycle) from input \(input) (saved at \(current.path))")
                }
            }
            for problem in problems where problem.line.map({ $0 < 1 || $0 > lines }) ?? false {
                XCTFail("problem on impossible line \(problem) of \(lines) lines")
            }
            if cycles.isEmpty != problems.contains(where: { $0.reason == AnnotationParser.emptyFileReason }) {
                XCTFail("empty-file problem inconsistent with \(cycles.count) cycles for \(input)")
            }
            if let text = String(validating: input, as: UTF8.self) {
                let fromText = AnnotationParser.parse(text, file: "fuzz.txt")
                if fromText.cycles != cycles { XCTFail("parse(Data) and parse(String) disagree on \(input)") }
            }
        }
        print("fuzz annotation parser: \(iterations) iterations in \(String(format: "%.0f", seconds(0.3))) s, no crash (\(cyclesSeen) cycles, \(problemsSeen) problems reported)")
        XCTAssertGreaterThan(iterations, 0)
    }

    private func annotationSeeds() throws -> [[UInt8]] {
        let directory = Fixtures.annotationsDirectory
        let names = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".txt") }.sorted()
        guard !names.isEmpty else { throw FixtureError("no annotation files in \(directory)") }
        // Every 23rd real file (about 40) plus hand-made edge cases.
        var seeds = stride(from: 0, to: names.count, by: 23).compactMap { FileManager.default.contents(atPath: directory + "/" + names[$0]).map { [UInt8]($0) } }
        seeds += ["", "\n", "0.1\t0.5\t0\t1\r\n0.5 0.9 1 0\r", "\u{FEFF}0\t1\t0\t0", "1 2 3 4 5 6\n"].map { Array($0.utf8) }
        return seeds
    }

    // MARK: Stem parser

    func testFuzzRecordingStemParser() throws {
        let stems = try FileManager.default.contentsOfDirectory(atPath: Fixtures.annotationsDirectory)
            .filter { $0.hasSuffix(".txt") }.map { Array($0.dropLast(4).utf8) }.sorted { $0.lexicographicallyPrecedes($1) }
        guard !stems.isEmpty else { throw FixtureError("no annotation files") }
        let tokens = ["_", "__", "Al", "Ar", "Pl", "Pr", "Tc", "Ll", "Lr", "sc", "mc", "Meditron", "LittC2SE", "Litt3200",
                      "AKGC417L", "0", "00", "007", "999999999", "9999999999", "-1", "+1", " ", ".wav",
                      "\u{212A}",   // KELVIN SIGN: canonically equivalent to "K"
                      "\u{212B}", "\u{0301}", "\u{200D}", "\u{FEFF}", "\u{FF11}", "\u{0661}", "\u{1D7CE}", "\0"]
        var mutator = Mutator(seed: FuzzBudget.seed &+ 1, dictionary: tokens.map { Array($0.utf8) })
        let current = CurrentInput("current-stem.txt")
        print("fuzz stem parser: \(stems.count) real stems as seeds, input under test at \(current.path)")
        var accepted = 0
        let iterations = FuzzBudget.run(seconds: seconds(0.2)) { _ in
            let input = mutator.mutate(stems.randomElement(using: &mutator.random)!, maxMutations: 3, others: stems)
            current.record(input)
            let text = String(decoding: input, as: UTF8.self)
            do {
                let stem = try RecordingStem(parsing: text)
                accepted += 1
                // The stem is the key of every join and cache file: it must reproduce the text byte for byte.
                if !stem.name.utf8.elementsEqual(text.utf8) {
                    XCTFail("stem parsed from \(Array(text.utf8)) ('\(text)') is named \(Array(stem.name.utf8)) ('\(stem.name)')")
                }
                if (try? RecordingStem(parsing: stem.name)) != stem { XCTFail("'\(stem.name)' does not parse back to itself") }
            } catch {
                if "\(error)".isEmpty { XCTFail("empty error for \(text)") }
            }
        }
        print("fuzz stem parser: \(iterations) iterations in \(String(format: "%.0f", seconds(0.2))) s, no crash (\(accepted) inputs accepted, all round-trip exactly)")
        XCTAssertGreaterThan(iterations, 0)
    }

    /// Regression (found while writing this target's byte-exact round-trip property): String
    /// `==` is Unicode canonical equivalence, so the KELVIN SIGN (U+212A) matched the "K" of
    /// `AKGC417L` and a file named with it parsed to a stem whose `name` is another byte string
    /// than the file name (two files on disk, one cache key).
    func testStemWithKelvinSignIsRejected() {
        XCTAssertEqual("A\u{212A}GC417L", "AKGC417L", "String == is canonical equivalence")
        XCTAssertThrowsError(try RecordingStem(parsing: "101_1b1_Al_sc_A\u{212A}GC417L"))
        XCTAssertNoThrow(try RecordingStem(parsing: "101_1b1_Al_sc_AKGC417L"))
    }

    // MARK: WAV decoding

    func testFuzzWAVDecoding() throws {
        let seeds = try wavSeeds()
        let tokens: [[UInt8]] = ["RIFF", "RIFX", "RF64", "WAVE", "fmt ", "data", "LIST", "fact", "ds64", "FORM", "AIFF",
                                 "AIFC", "COMM", "SSND", ".snd", "fLaC", "OggS"].map { Array($0.utf8) }
            + [[0x01, 0x00], [0x03, 0x00], [0xFE, 0xFF], [0x06, 0x00], [0x11, 0x00], [0x00, 0x00, 0x00, 0x00]]
        var mutator = Mutator(seed: FuzzBudget.seed &+ 2, dictionary: tokens)
        let current = CurrentInput("current.wav")
        print("fuzz WAV decoding: \(seeds.count) seeds from \(Fixtures.sampleDirectory), input under test at \(current.path)")
        var decoded = 0, rejected = 0, frames = 0
        var reasons: [String: Int] = [:]
        let iterations = FuzzBudget.run(seconds: seconds(0.5)) { _ in
            // Mutations land mostly in the header: the first 64 bytes are where formats differ.
            let seed = seeds.randomElement(using: &mutator.random)!
            var input = mutator.mutate(seed, maxMutations: 4, others: seeds)
            if Int.random(in: 0..<4, using: &mutator.random) == 0, input.count > 64 {
                let head = mutator.mutate(Array(input.prefix(64)), maxMutations: 3)
                input = head + input.dropFirst(64)
            }
            current.record(input)
            for allowTruncated in [false, true] {
                do {
                    let audio = try AudioDecoder.decode(contentsOf: current.path, allowTruncated: allowTruncated)
                    decoded += 1
                    frames += audio.frames
                    if audio.samples.count != audio.frames || audio.channels < 1 || audio.sampleRate < 1 {
                        XCTFail("inconsistent decode: \(audio.samples.count) samples, \(audio.frames) frames, \(audio.channels) channels, \(audio.sampleRate) Hz")
                    }
                    if [8, 16, 24].contains(audio.bitDepth), !audio.samples.allSatisfy({ $0 >= -1 && $0 <= 1 }) {
                        XCTFail("integer PCM decoded outside [-1, 1]")
                    }
                } catch let error as AudioDecodingError {
                    rejected += 1
                    reasons["\(error.reason)".prefix { $0 != "(" }.description, default: 0] += 1
                    if !error.description.contains(current.path) { XCTFail("error does not name the file: \(error)") }
                } catch {
                    XCTFail("untyped error \(error)")
                }
            }
        }
        let summary = reasons.sorted { $0.value > $1.value }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        print("fuzz WAV decoding: \(iterations) iterations in \(String(format: "%.0f", seconds(0.5))) s, no crash (\(decoded) decodes, \(frames) frames; \(rejected) rejected: \(summary))")
        XCTAssertGreaterThan(iterations, 0)
    }

    /// The sample recordings, each shortened to its header and 2048 frames (header sizes patched
    /// so the seed is a valid WAV): many more inputs per second than the multi-megabyte originals.
    private func wavSeeds() throws -> [[UInt8]] {
        let directory = Fixtures.sampleDirectory
        let names = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".wav") }.sorted()
        guard !names.isEmpty else { throw FixtureError("no WAV in \(directory)") }
        return try names.map { name in
            let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: directory + "/" + name)))
            return Self.shortened(bytes, frames: 2048)
        }
    }

    static func shortened(_ wav: [UInt8], frames: Int) -> [UInt8] {
        func u32(_ at: Int) -> Int { Int(wav[at]) | Int(wav[at + 1]) << 8 | Int(wav[at + 2]) << 16 | Int(wav[at + 3]) << 24 }
        var offset = 12, blockAlign = 4
        while offset + 8 <= wav.count {
            let id = String(decoding: wav[offset..<offset + 4], as: UTF8.self), size = u32(offset + 4)
            if id == "fmt " { blockAlign = Int(wav[offset + 20]) | Int(wav[offset + 21]) << 8 }
            if id == "data" {
                let keep = min(size, frames * max(blockAlign, 1))
                var out = Array(wav[..<(offset + 8 + keep)])
                func put(_ value: Int, at: Int) { for k in 0..<4 { out[at + k] = UInt8((value >> (8 * k)) & 0xFF) } }
                put(keep, at: offset + 4)
                put(out.count - 8, at: 4)
                return out
            }
            offset += 8 + size + (size & 1)
        }
        return wav
    }
}
