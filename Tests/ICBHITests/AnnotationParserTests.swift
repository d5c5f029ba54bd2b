import Foundation
import ICBHI
import Synthesis
import XCTest

final class AnnotationParserTests: XCTestCase {
    private let file = "101_1b1_Al_sc_Meditron.txt"

    /// Parses `text` and checks that exactly one problem is reported, on `line`, with the
    /// given kind and a reason containing `reason`; returns the cycles.
    @discardableResult
    private func parse(_ text: String, problemOn line: Int?, kind: Problem.Kind = .skippedCycle,
                       reason: String, file: StaticString = #filePath, sourceLine: UInt = #line) -> [AnnotatedCycle] {
        let result = AnnotationParser.parse(text, file: self.file)
        let relevant = result.problems.filter { $0.line != nil || line == nil }
        XCTAssertEqual(relevant.count, 1, "problems: \(result.problems)", file: file, line: sourceLine)
        if let problem = relevant.first {
            XCTAssertEqual(problem.line, line, file: file, line: sourceLine)
            XCTAssertEqual(problem.kind, kind, file: file, line: sourceLine)
            XCTAssertEqual(problem.file, self.file, file: file, line: sourceLine)
            XCTAssertTrue(problem.reason.contains(reason), "reason: \(problem.reason)", file: file, line: sourceLine)
        }
        return result.cycles
    }

    func testParsesTabSeparatedLines() {
        let (cycles, problems) = AnnotationParser.parse("0.036\t0.579\t0\t0\n0.579\t2.45\t1\t0\n2.45\t3.893\t0\t1\n3.893\t5.793\t1\t1\n", file: file)
        XCTAssertEqual(problems, [])
        XCTAssertEqual(cycles, [
            AnnotatedCycle(index: 0, start: 0.036, end: 0.579, crackle: false, wheeze: false, line: 1),
            AnnotatedCycle(index: 1, start: 0.579, end: 2.45, crackle: true, wheeze: false, line: 2),
            AnnotatedCycle(index: 2, start: 2.45, end: 3.893, crackle: false, wheeze: true, line: 3),
            AnnotatedCycle(index: 3, start: 3.893, end: 5.793, crackle: true, wheeze: true, line: 4),
        ])
        XCTAssertEqual(cycles.map(\.label), [.normal, .crackle, .wheeze, .both])
    }

    func testCRLFAndLoneCRAndMixedWhitespace() {
        for text in ["0.1\t0.5\t0\t1\r\n0.5\t0.9\t1\t0\r\n",
                     "0.1\t0.5\t0\t1\r0.5\t0.9\t1\t0",
                     "  0.1 0.5\t\t0 1  \n0.5   0.9 1\t0\r\n"] {
            let (cycles, problems) = AnnotationParser.parse(text, file: file)
            XCTAssertEqual(problems, [], text.debugDescription)
            XCTAssertEqual(cycles.map(\.start), [0.1, 0.5], text.debugDescription)
            XCTAssertEqual(cycles.map(\.end), [0.5, 0.9], text.debugDescription)
            XCTAssertEqual(cycles.map(\.label), [.wheeze, .crackle], text.debugDescription)
            XCTAssertEqual(cycles.map(\.line), [1, 2], text.debugDescription)
        }
    }

    func testBlankLinesAreIgnoredButCounted() {
        let (cycles, problems) = AnnotationParser.parse("\n0.1\t0.5\t0\t0\r\n \t\r\n\r\n0.5\t0.9\t0\t0\n\n\n  \n", file: file)
        XCTAssertEqual(problems, [])
        XCTAssertEqual(cycles.map(\.line), [2, 5])
        XCTAssertEqual(cycles.map(\.index), [0, 1])
    }

    func testTooFewFields() {
        parse("0.1\t0.5\t0\n0.5\t0.9\t0\t0\n", problemOn: 1, reason: "expected 4 fields")
        parse("0.1\n", problemOn: 1, reason: "found 1")
    }

    func testNonNumbers() {
        XCTAssertEqual(parse("abc\t0.5\t0\t0\n0.5\t0.9\t0\t0\n", problemOn: 1, reason: "start time 'abc'").count, 1)
        parse("0.1\t0,5\t0\t0\n0.5\t0.9\t0\t0\n", problemOn: 1, reason: "end time '0,5'")
        parse("nan\t0.5\t0\t0\n0.5\t0.9\t0\t0\n", problemOn: 1, reason: "start time 'nan'")
        parse("0.5\t0.9\t0\t0\n0.1\tinf\t0\t0\n", problemOn: 2, reason: "end time 'inf'")
        parse("0.5\t0.9\t0\t0\n0.1\t1e999\t0\t0\n", problemOn: 2, reason: "end time '1e999'")
        parse("0x1p-2\t0.9\t0\t0\n0.5\t0.9\t0\t0\n", problemOn: 1, reason: "start time")
        parse(".\t0.9\t0\t0\n0.5\t0.9\t0\t0\n", problemOn: 1, reason: "start time")
    }

    func testFlagsMustBeZeroOrOne() {
        parse("0.1\t0.5\t2\t0\n0.5\t0.9\t0\t0\n", problemOn: 1, reason: "crackles flag '2'")
        parse("0.1\t0.5\t0\t1.0\n0.5\t0.9\t0\t0\n", problemOn: 1, reason: "wheezes flag '1.0'")
        parse("0.1\t0.5\t0\tyes\n0.5\t0.9\t0\t0\n", problemOn: 1, reason: "wheezes flag")
    }

    func testEndMustBeAfterStart() {
        parse("0.5\t0.5\t0\t0\n0.5\t0.9\t0\t0\n", problemOn: 1, reason: "not after start")
        parse("0.5\t0.9\t0\t0\n0.9\t0.6\t0\t0\n", problemOn: 2, reason: "not after start")
    }

    func testNegativeTimes() {
        parse("-0.1\t0.5\t0\t0\n0.5\t0.9\t0\t0\n", problemOn: 1, reason: "negative time")
        parse("0.5\t0.9\t0\t0\n-0.9\t-0.6\t0\t0\n", problemOn: 2, reason: "negative time")
    }

    func testSkippedLinesDoNotConsumeAnIndex() {
        let (cycles, problems) = AnnotationParser.parse("0.1\t0.5\t0\t0\nbad\n0.5\t0.9\t0\t1\n", file: file)
        XCTAssertEqual(problems.map(\.line), [2])
        XCTAssertEqual(problems.first?.description, "\(file):2: expected 4 fields 'start end crackles wheezes', found 1")
        XCTAssertEqual(cycles.map(\.index), [0, 1])
        XCTAssertEqual(cycles.map(\.line), [1, 3])
    }

    func testExtraFieldsAreKeptWithANotice() {
        let cycles = parse("0.1\t0.5\t1\t0\tcomment here\n", problemOn: 1, kind: .notice, reason: "2 extra field(s)")
        XCTAssertEqual(cycles, [AnnotatedCycle(index: 0, start: 0.1, end: 0.5, crackle: true, wheeze: false, line: 1)])
    }

    func testEmptyFiles() {
        for text in ["", "\n\n", " \r\n\t\r\n", "garbage\n"] {
            let (cycles, problems) = AnnotationParser.parse(text, file: file)
            XCTAssertEqual(cycles, [], text.debugDescription)
            let fileLevel = problems.filter { $0.line == nil }
            XCTAssertEqual(fileLevel, [Problem(file: file, line: nil, reason: "empty annotation file", kind: .skippedFile)])
            XCTAssertEqual(fileLevel.first?.description, "\(file): empty annotation file")
        }
    }

    func testInvalidUTF8IsDecodedLossilyAndReported() {
        var bytes = Array("0.1\t0.5\t0\t0\n".utf8)
        bytes += [0xFF, 0xFE, 0x09, 0xC3] + Array("\t0\t0\n0.5\t0.9\t0\t1\n".utf8)
        let (cycles, problems) = AnnotationParser.parse(Data(bytes), file: file)
        XCTAssertEqual(cycles.map(\.line), [1, 3])
        XCTAssertEqual(problems.map(\.line), [nil, 2])
        XCTAssertEqual(problems.map(\.kind), [.notice, .skippedCycle])
    }

    func testNeverTrapsOnArbitraryBytes() {
        var generator = SplitMix64(seed: 2017)
        let alphabet = Array("0123456789.-+eE\t \r\n01naif".utf8) + [0x00, 0x80, 0xFF, 0xC3]
        for _ in 0..<2000 {
            let count = Int(generator.next() % 200)
            let bytes = (0..<count).map { _ in
                generator.next() % 4 == 0 ? UInt8(truncatingIfNeeded: generator.next())
                                          : alphabet[Int(generator.next() % UInt64(alphabet.count))]
            }
            let (cycles, problems) = AnnotationParser.parse(Data(bytes), file: file)
            for cycle in cycles {
                XCTAssertTrue(cycle.start >= 0 && cycle.end > cycle.start && cycle.end.isFinite)
                _ = cycle.sliceBounds(sampleRate: 16000, frames: 1000)
            }
            XCTAssertEqual(cycles.map(\.index), Array(cycles.indices))
            XCTAssertEqual(cycles.isEmpty, problems.contains { $0.reason == AnnotationParser.emptyFileReason })
        }
    }

    func testReadsFromURLAndReportsUnreadableFile() throws {
        let url = Fixtures.annotationDirectory.appendingPathComponent("101_1b1_Al_sc_Meditron.txt")
        let (cycles, problems) = try AnnotationParser.parse(contentsOf: url)
        XCTAssertEqual(problems, [])
        XCTAssertEqual(cycles.first, AnnotatedCycle(index: 0, start: 0.036, end: 0.579, crackle: false, wheeze: false, line: 1))
        let missing = Fixtures.annotationDirectory.appendingPathComponent("no_such_file.txt")
        XCTAssertThrowsError(try AnnotationParser.parse(contentsOf: missing)) { error in
            guard case DatasetError.unreadableFile(let path, _) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(path.hasSuffix("no_such_file.txt"))
        }
    }
}
