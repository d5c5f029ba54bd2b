import Foundation
import SPRSound
import XCTest

/// The SPRSound JSON parser on every schema and every bad input of issue #22 (FORMAT.md's
/// trip-wires): each bad input gives an issue with a reason and never a crash or a throw.
final class SPRSoundAnnotationTests: XCTestCase {
    private func parse(_ text: String) -> SPRSoundAnnotation { SPRSoundAnnotation.parse(Data(text.utf8)) }
    private func reasons(_ a: SPRSoundAnnotation, _ kind: SPRSoundIssue.Kind) -> [String] { a.issues.filter { $0.kind == kind }.map(\.reason) }

    func testSchemaAOneLineStringMilliseconds() {
        let a = parse(#"{"record_annotation": "CAS & DAS", "event_annotation": [{"start": "1748", "end": "2500", "type": "Wheeze"}, {"start": "120", "end": "900", "type": "Fine Crackle"}]}"#)
        XCTAssertEqual(a.recordLabel, "CAS & DAS")
        XCTAssertFalse(a.unusable)
        XCTAssertEqual(a.events.map(\.type), ["Fine Crackle", "Wheeze"], "sorted by start")
        XCTAssertEqual(a.events.map(\.start), [0.12, 1.748])
        XCTAssertEqual(a.events.map(\.position), [1, 0])
        XCTAssertTrue(reasons(a, .notice).contains { $0.contains("not in time order") })
        XCTAssertTrue(reasons(a, .skippedItem).isEmpty)
    }

    func testSchemaBIndentedWithoutRecordLabel() {
        let a = parse("{\n    \"event_annotation\": [\n        {\n            \"start\": \"4092\",\n            \"end\": \"6371\",\n            \"type\": \"Normal\"\n        }\n    ]\n}")
        XCTAssertNil(a.recordLabel)
        XCTAssertEqual(a.events, [.init(position: 0, start: 4.092, end: 6.371, type: "Normal")])
        XCTAssertTrue(a.issues.isEmpty, "\(a.issues)")
    }

    func testSchemaCNumericTimesAndRecordingAnnotation() {
        let a = parse(#"{"recording_annotation": "Normal", "event_annotation": [{"start": 100, "end": 2000.5, "type": "Normal"}]}"#)
        XCTAssertEqual(a.recordLabel, "Normal")
        XCTAssertEqual(a.events.first?.end, 2.0005)
    }

    func testInvalidTruncatedEmptyAndNonObjectFilesAreUnusable() {
        for (text, phrase) in [(#"{"record_annotation": "Normal", "event_annotation": [{"start": "1"#, "invalid or truncated JSON"),
                               ("", "empty file"), ("[1, 2]", "JSON array"), ("\"Normal\"", "JSON string"), ("null", "JSON null"),
                               ("\u{FF}\u{FE}garbage", "invalid"), ("{}", "nothing to use")] {
            let a = parse(text)
            XCTAssertTrue(a.unusable, text)
            XCTAssertTrue(a.events.isEmpty && a.recordLabel == nil, text)
            XCTAssertTrue(reasons(a, .skippedFile).contains { $0.contains(phrase) }, "\(text): \(a.issues)")
        }
    }

    func testBadTimesAreSkippedWithTheirReason() {
        let a = parse(#"{"record_annotation": "Normal", "event_annotation": [{"start": "abc", "end": "100", "type": "Normal"}, {"start": "-5", "end": "100", "type": "Normal"}, {"start": true, "end": "100", "type": "Normal"}, {"end": "100", "type": "Normal"}, {"start": "10", "end": "100", "type": "Normal"}, {"start": "", "end": "100", "type": "Normal"}, {"start": "0x10", "end": "100", "type": "Normal"}]}"#)
        XCTAssertEqual(a.events.count, 1)
        let skipped = reasons(a, .skippedItem)
        XCTAssertEqual(skipped.count, 6, "\(skipped)")
        XCTAssertTrue(skipped[0].contains("event_annotation[0]") && skipped[0].contains("'abc' is not a number"))
        XCTAssertTrue(skipped[1].contains("negative start -5 ms"))
        XCTAssertTrue(skipped[2].contains("start is a JSON boolean"))
        XCTAssertTrue(skipped[3].contains("no start"))
    }

    func testUnknownTypeZeroLengthAndReversedEventsAreSkipped() {
        let a = parse(#"{"record_annotation": "CAS", "event_annotation": [{"start": "0", "end": "100", "type": "Squawk"}, {"start": "200", "end": "200", "type": "Wheeze"}, {"start": "500", "end": "300", "type": "Wheeze"}, {"start": "600", "end": "900", "type": 3}]}"#)
        XCTAssertTrue(a.events.isEmpty)
        XCTAssertFalse(a.unusable, "the record label remains")
        let skipped = reasons(a, .skippedItem)
        XCTAssertTrue(skipped[0].contains("unknown event type 'Squawk'"))
        XCTAssertTrue(skipped[1].contains("zero-length event"))
        XCTAssertTrue(skipped[2].contains("before it starts"))
        XCTAssertTrue(skipped[3].contains("type is a JSON number"))
    }

    func testOverlapsAreKeptAndNotedTouchingIsNot() {
        let a = parse(#"{"event_annotation": [{"start": "0", "end": "1000", "type": "Wheeze"}, {"start": "800", "end": "1500", "type": "Wheeze"}, {"start": "1500", "end": "2000", "type": "Wheeze"}]}"#)
        XCTAssertEqual(a.events.count, 3)
        let overlaps = reasons(a, .notice).filter { $0.contains("overlaps") }
        XCTAssertEqual(overlaps.count, 1, "\(a.issues)")
        XCTAssertTrue(overlaps[0].contains("event_annotation[0] (0-1000 ms) overlaps event_annotation[1] (800-1500 ms)"))
    }

    func testEmptyEventListWithAndWithoutRecordLabel() {
        let pq = parse(#"{"record_annotation": "Poor Quality", "event_annotation": []}"#)
        XCTAssertFalse(pq.unusable)
        XCTAssertEqual(pq.recordLabel, "Poor Quality")
        XCTAssertTrue(reasons(pq, .notice).contains { $0.contains("empty event list") })
        let nothing = parse(#"{"event_annotation": []}"#)
        XCTAssertTrue(nothing.unusable)
        XCTAssertTrue(reasons(nothing, .skippedFile).contains { $0.contains("no valid event and no record label") })
    }

    func testNameDriftAndUnknownRecordLabel() {
        let a = parse(#"{"record_annotation": "CAS and DAS", "event_annotation": [{"start": "0", "end": "100", "type": "Wheeze & Crackle"}]}"#)
        XCTAssertEqual(a.recordLabel, "CAS & DAS")
        XCTAssertEqual(a.events.first?.type, "Wheeze+Crackle")
        XCTAssertEqual(reasons(a, .notice).filter { $0.contains("read as") }.count, 2)
        let b = parse(#"{"record_annotation": "Crackly", "event_annotation": [{"start": "0", "end": "100", "type": "Normal"}]}"#)
        XCTAssertNil(b.recordLabel)
        XCTAssertTrue(reasons(b, .skippedItem).contains { $0.contains("'Crackly' is not one of") })
        XCTAssertEqual(b.events.count, 1)
    }

    func testAHostileFileCannotFloodTheReport() {
        let zero = (0..<1000).map { _ in #"{"start": "5", "end": "5", "type": "Normal"}"# }
        let same = (0..<300).map { _ in #"{"start": "0", "end": "1000", "type": "Wheeze"}"# }
        let keys = (0..<50).map { #""extra\#($0)": 1"# }
        let text = #"{"record_annotation": "CAS", "event_annotation": ["# + (zero + same).joined(separator: ", ") + "], " + keys.joined(separator: ", ") + "}"
        let started = Date()
        let a = parse(text)
        XCTAssertLessThan(Date().timeIntervalSince(started), 5)
        XCTAssertEqual(a.events.count, 300)
        let skipped = reasons(a, .skippedItem)
        XCTAssertEqual(skipped.count, SPRSoundAnnotation.listedPerFile + 1)
        XCTAssertEqual(skipped.last, "900 more events skipped (not listed: 100 per file)")
        let overlaps = reasons(a, .notice).filter { $0.contains("overlap") }
        XCTAssertEqual(overlaps.count, SPRSoundAnnotation.listedPerFile + 1)
        XCTAssertEqual(overlaps.last, "299 events overlap an earlier one in all (the first 100 overlapping pairs listed)")
        XCTAssertEqual(reasons(a, .notice).filter { $0.hasPrefix("unknown keys") }.count, 1)
    }

    func testEveryVendoredSampleParsesWithoutSkips() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("shared/sprsound/annotations").path
        let files = try XCTUnwrap(FileManager.default.enumerator(atPath: root)).compactMap { $0 as? String }.filter { $0.hasSuffix(".json") }
        XCTAssertEqual(files.count, 51)
        var events = 0
        for file in files {
            let a = SPRSoundAnnotation.parse(try Data(contentsOf: URL(fileURLWithPath: root + "/" + file)))
            XCTAssertFalse(a.unusable, file)
            XCTAssertTrue(a.issues.allSatisfy { $0.kind == .notice }, "\(file): \(a.issues)")
            events += a.events.count
        }
        XCTAssertEqual(events, 217, "INDEX.tsv's n_events summed")
    }
}

final class SPRSoundNameAndSplitTests: XCTestCase {
    func testNames() throws {
        let a = try SPRSoundName(parsing: "00014365_4.3_1_p4_7545")
        XCTAssertEqual(a.patient, 14365)
        XCTAssertEqual(a.patientField, "00014365")
        XCTAssertEqual(a.age, 4.3)
        XCTAssertEqual(a.gender, 1)
        XCTAssertEqual(a.location, "p4")
        let anonymous = try SPRSoundName(parsing: "_0.7_1_p7_32982")
        XCTAssertEqual(anonymous.patient, -1)
        XCTAssertEqual(anonymous.location, "p7")
        XCTAssertEqual(try SPRSoundName(parsing: "662293914_7.9_0_p4_4899").patient, 662293914)
        for bad in ["1_2_3_4", "a_1.0_0_p1_1", "1_x_0_p1_1", "1_1.0_2_p1_1", "1_1.0_0_q1_1", "1_1.0_0_p1_", "99999999999_1.0_0_p1_1"] {
            XCTAssertThrowsError(try SPRSoundName(parsing: bad), bad)
        }
    }

    func testSplitsFromEveryKnownLayout() {
        func split(_ path: String) -> String { SPRSoundSplit.of(folders: path.split(separator: "/").map(String.init)).split }
        XCTAssertEqual(split("BioCAS2022/train2022_json"), "train")
        XCTAssertEqual(split("BioCAS2022/test2022_json/inter_test_json"), "inter_test")
        XCTAssertEqual(split("releases/BioCAS2022/test2022_json/intra_test_json"), "intra_test")
        XCTAssertEqual(split("BioCAS2023/test2023_json"), "test2023")
        XCTAssertEqual(split("Detection/test2024_detection_json"), "test2024")
        XCTAssertEqual(split("Classification/test_classification_json/2023"), "test2023")
        XCTAssertEqual(split("Classification/valid_classification_json/2022/inter_test_json"), "inter_test")
        XCTAssertEqual(split("Classification/train_classification_json"), "train")
        XCTAssertEqual(split("train_json"), "train")
        XCTAssertEqual(split("test_json"), "unassigned")
        XCTAssertEqual(split("Detection/valid_detection_json"), "unassigned")
        XCTAssertEqual(split(""), "unassigned")
        XCTAssertEqual(SPRSoundSplit.of(folders: ["releases", "BioCAS2025", "test2025_json"]).release, "2025")
        XCTAssertEqual(SPRSoundSplit.of(folders: ["Classification", "train_classification_json"]).release, "2022")
    }

    func testTaskLabels() {
        XCTAssertEqual(SPRSoundLabels.eventLabels(type: "Normal"), [0, 0, -1, -1])
        XCTAssertEqual(SPRSoundLabels.eventLabels(type: "Wheeze+Crackle"), [1, 6, -1, -1])
        XCTAssertEqual(SPRSoundLabels.recordLabels(label: "Poor Quality"), [-1, -1, 1, 1])
        XCTAssertEqual(SPRSoundLabels.recordLabels(label: "CAS & DAS"), [-1, -1, 2, 4])
        XCTAssertEqual(SPRSoundLabels.recordLabels(label: "DAS"), [-1, -1, 2, 3])
        XCTAssertEqual(SPRSoundLabels.recordLabels(label: nil), [-1, -1, -1, -1])
        XCTAssertEqual(SPRSoundLabels.tasks.map(\.classes.count), [2, 7, 3, 5])
    }
}
