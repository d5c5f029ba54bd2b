import Foundation
@testable import Training
import XCTest

/// The SPRSound challenge's metric (docs/sprsound-training.md) on hand-made confusion matrices,
/// Poor Quality included, and the best-epoch rule of label tasks.
final class TaskMetricTests: XCTestCase {
    static let task22 = TaskDefinition(name: "2-2", level: "record", classes: ["Normal", "Poor Quality", "CAS", "DAS", "CAS & DAS"])
    static let task21 = TaskDefinition(name: "2-1", level: "record", classes: ["Normal", "Poor Quality", "Adventitious"])
    static let task12 = TaskDefinition(name: "1-2", level: "event",
                                       classes: ["Normal", "Rhonchi", "Wheeze", "Stridor", "Coarse Crackle", "Fine Crackle", "Wheeze+Crackle"])
    static let task11 = TaskDefinition(name: "1-1", level: "event", classes: ["Normal", "Adventitious"])

    func testAdventitiousClassesStartAfterPoorQuality() {
        XCTAssertEqual(Self.task11.adventitiousFrom, 1)
        XCTAssertEqual(Self.task12.adventitiousFrom, 1)
        XCTAssertEqual(Self.task21.adventitiousFrom, 2)
        XCTAssertEqual(Self.task22.adventitiousFrom, 2)
        // A record task without Poor Quality counts every non-Normal class.
        XCTAssertEqual(TaskDefinition(name: "r", level: "record", classes: ["Normal", "CAS", "DAS"]).adventitiousFrom, 1)
    }

    /// Task 2-2 by hand: SP = 8/10; SE = (4 + 3 + 2) / (6 + 4 + 4) = 9/14 (the Poor Quality row
    /// counts nowhere; Poor Quality predicted for a Normal or CAS row is a miss).
    func testRecordTaskWithPoorQuality() {
        let m = [[8, 1, 1, 0, 0],
                 [2, 3, 0, 0, 0],
                 [1, 0, 4, 1, 0],
                 [0, 1, 0, 3, 0],
                 [0, 0, 1, 1, 2]]
        let s = TaskScore(m, adventitiousFrom: 2)
        XCTAssertEqual(s.normalHits, 8); XCTAssertEqual(s.normalCount, 10)
        XCTAssertEqual(s.adventitiousHits, 9); XCTAssertEqual(s.adventitiousCount, 14)
        let se = 900.0 / 14, sp = 80.0
        XCTAssertEqual(s.specificity, sp, accuracy: 1e-12)
        XCTAssertEqual(s.sensitivity, se, accuracy: 1e-12)
        XCTAssertEqual(s.averageScore, 72.142857142857142, accuracy: 1e-12)
        XCTAssertEqual(s.harmonicScore, 144_000.0 / 2_020, accuracy: 1e-12)   // 2 SE SP / (SE + SP) = 71.2871...
        XCTAssertEqual(s.score, (72.142857142857142 + 144_000.0 / 2_020) / 2, accuracy: 1e-12)
        XCTAssertEqual(s.score, 71.714992927864, accuracy: 1e-9)

        // The Poor Quality row does not move any number.
        var other = m
        other[1] = [0, 0, 0, 0, 50]
        XCTAssertEqual(TaskScore(other, adventitiousFrom: 2), s)
        // Counting Poor Quality as adventitious (task = 1 in the reference code) would: SE 12/19.
        XCTAssertEqual(TaskScore(m, adventitiousFrom: 1).sensitivity, 1200.0 / 19, accuracy: 1e-12)

        // The 2-class view: an adventitious row predicted as any adventitious class is a hit (12 of 14).
        let any = TaskScore(m, adventitiousFrom: 2, anyAdventitious: true)
        XCTAssertEqual(any.sensitivity, 1200.0 / 14, accuracy: 1e-12)
        XCTAssertEqual(any.specificity, sp)

        let e = SplitEvaluation(split: "inter_test", confusion: m, task: Self.task22)
        XCTAssertEqual(e.rows, 29)
        XCTAssertEqual(e.score, s.score)
        XCTAssertEqual(e.sensitivity2, any.sensitivity)
        XCTAssertEqual(e.score2, any.score)
    }

    /// Task 2-1: Normal, Poor Quality, Adventitious. SP = 5/6, SE = 3/4.
    func testRecordTaskTwoOne() {
        let s = TaskScore([[5, 1, 0], [3, 3, 3], [1, 0, 3]], adventitiousFrom: Self.task21.adventitiousFrom)
        XCTAssertEqual(s.specificity, 500.0 / 6, accuracy: 1e-12)
        XCTAssertEqual(s.sensitivity, 75, accuracy: 1e-12)
        let hs = 2 * (500.0 / 6) * 75 / (500.0 / 6 + 75)
        XCTAssertEqual(s.score, ((500.0 / 6 + 75) / 2 + hs) / 2, accuracy: 1e-12)
    }

    /// Event tasks: every non-Normal class counts toward SE, with exact-class hits in 1-2.
    func testEventTasks() {
        let s11 = TaskScore([[6, 4], [1, 9]], adventitiousFrom: 1)
        XCTAssertEqual(s11.specificity, 60); XCTAssertEqual(s11.sensitivity, 90)
        XCTAssertEqual(s11.averageScore, 75); XCTAssertEqual(s11.harmonicScore, 72, accuracy: 1e-12)
        XCTAssertEqual(s11.score, 73.5, accuracy: 1e-12)

        var m = [[Int]](repeating: [Int](repeating: 0, count: 7), count: 7)
        m[0][0] = 3; m[0][1] = 1      // SP 3/4
        m[1][1] = 2; m[1][2] = 2      // Rhonchi called Wheeze: a miss in 1-2
        m[6][6] = 1; m[6][0] = 1
        let s12 = TaskScore(m, adventitiousFrom: Self.task12.adventitiousFrom)
        XCTAssertEqual(s12.specificity, 75); XCTAssertEqual(s12.sensitivity, 50)
        XCTAssertEqual(TaskScore(m, adventitiousFrom: 1, anyAdventitious: true).sensitivity, 500.0 / 6, accuracy: 1e-12)
    }

    /// Empty sides score 0; HS is 0 when SE and SP both are (no division by zero).
    func testDegenerateMatrices() {
        let none = TaskScore([[0, 0], [0, 0]], adventitiousFrom: 1)
        XCTAssertEqual(none.score, 0)
        let allWrong = TaskScore([[0, 3], [2, 0]], adventitiousFrom: 1)
        XCTAssertEqual(allWrong.harmonicScore, 0)
        XCTAssertEqual(allWrong.score, 0)
        // Calling everything Normal: SP 100, SE 0, Score 25.
        let normal = TaskScore([[4, 0, 0], [2, 0, 0], [5, 0, 0]], adventitiousFrom: 2)
        XCTAssertEqual(normal.score, 25)
    }

    func testTestSplitsAndSelection() {
        XCTAssertEqual(TaskSelection.testSplits(["train", "test2024", "intra_test", "unassigned", "inter_test", "test2023"]),
                       ["inter_test", "intra_test", "test2023", "test2024"])
        XCTAssertEqual(TaskSelection.selectionSplits(["inter_test", "intra_test", "test2023"]), ["inter_test", "intra_test"])
        XCTAssertEqual(TaskSelection.selectionSplits(["test2023", "test2024"]), ["test2023", "test2024"])

        let inter = SplitEvaluation(split: "inter_test", confusion: [[6, 4], [1, 9]], task: Self.task11)      // Score 73.5
        let intra = SplitEvaluation(split: "intra_test", confusion: [[0, 3], [2, 0]], task: Self.task11)      // Score 0
        let yearly = SplitEvaluation(split: "test2023", confusion: [[10, 0], [0, 10]], task: Self.task11)     // Score 100, not selected
        XCTAssertEqual(TaskSelection.mean([inter, intra, yearly], \.score), 36.75, accuracy: 1e-12)
        XCTAssertEqual(TaskSelection.mean([yearly], \.score), 100)
        XCTAssertEqual(TaskSelection.pooledConfusion([inter, intra, yearly]), [[6, 7], [3, 9]])
    }

    /// Highest selection Score, first among equals, no Se gate; ICBHI trackers encode as before.
    func testBestEpochRuleOfTasks() throws {
        var tracker = BestEpochTracker()
        XCTAssertTrue(tracker.offer(epoch: 1, taskScore: 25))
        XCTAssertTrue(tracker.offer(epoch: 2, taskScore: 40))
        XCTAssertFalse(tracker.offer(epoch: 3, taskScore: 40))
        XCTAssertFalse(tracker.offer(epoch: 4, taskScore: 39))
        XCTAssertEqual(tracker.epoch, 2)
        XCTAssertEqual(tracker.bestTaskScore, 40)
        XCTAssertNil(tracker.best)

        var icbhi = BestEpochTracker()
        _ = icbhi.offer(epoch: 1, score: ICBHIScore(normalHits: 5, normalCount: 10, abnormalHits: 5, abnormalCount: 10))
        let json = String(decoding: try JSONEncoder().encode(icbhi), as: UTF8.self)
        XCTAssertFalse(json.contains("bestTaskScore"), json)
    }
}

extension TaskMetricTests {
    /// A task's class names label the matrix, every column as wide as the longest name; ICBHI's
    /// table is as before.
    func testConfusionTableWithClassNames() {
        let table = formatConfusion([[1, 0, 2], [0, 3, 0], [4, 0, 5]], names: Self.task21.classes)
        let w = 14   // "Adventitious" + 2
        func pad(_ text: String) -> String { String(repeating: " ", count: w - text.count) + text }
        XCTAssertEqual(table, [pad("") + pad("Normal") + pad("Poor Quality") + pad("Adventitious"),
                               pad("Normal") + pad("1") + pad("0") + pad("2"),
                               pad("Poor Quality") + pad("0") + pad("3") + pad("0"),
                               pad("Adventitious") + pad("4") + pad("0") + pad("5")].joined(separator: "\n"))
        XCTAssertTrue(table.hasPrefix(String(repeating: " ", count: 22) + "Normal  Poor Quality"), table)
        XCTAssertEqual(formatConfusion([[1, 2], [3, 4]]), "            normal abnormal\n   normal        1        2\n abnormal        3        4")
    }
}
