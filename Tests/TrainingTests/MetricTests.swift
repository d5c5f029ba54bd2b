import Training
import XCTest

/// ICBHI metric (REFERENCE.md "Metric") on hand-computed cases.
final class MetricTests: XCTestCase {
    /// rows: true class, columns: predicted.
    func confusion(_ m: [[Int]]) -> ConfusionMatrix {
        var c = ConfusionMatrix(classes: m.count)
        for (t, row) in m.enumerated() {
            for (p, n) in row.enumerated() { for _ in 0..<n { c.add(label: t, prediction: p) } }
        }
        return c
    }

    func testFourClassScore() {
        // normal: 10 cycles, 8 right; crackle 5 (3 right, 1 as wheeze, 1 as normal);
        // wheeze 4 (2 right, 1 as both, 1 as normal); both 1 (0 right, predicted crackle).
        let c = confusion([[8, 1, 1, 0],
                           [1, 3, 1, 0],
                           [1, 0, 2, 1],
                           [0, 1, 0, 0]])
        XCTAssertEqual(c.counts, [10, 5, 4, 1])
        XCTAssertEqual(c.hits, [8, 3, 2, 0])
        let s = c.score
        XCTAssertEqual(s.specificity, 80, accuracy: 1e-12)           // 8 / 10
        XCTAssertEqual(s.sensitivity, 50, accuracy: 1e-12)           // (3 + 2 + 0) / 10
        XCTAssertEqual(s.score, 65, accuracy: 1e-12)
        // 2-class view: abnormal predicted as any abnormal class is a hit: 4 + 3 + 1 = 8 of 10.
        let s2 = c.twoClassScore
        XCTAssertEqual(s2.specificity, 80, accuracy: 1e-12)
        XCTAssertEqual(s2.sensitivity, 80, accuracy: 1e-12)
        XCTAssertEqual(s2.score, 80, accuracy: 1e-12)
    }

    func testTwoClassModel() {
        let c = confusion([[7, 3],
                           [4, 6]])
        XCTAssertEqual(c.score.specificity, 70, accuracy: 1e-12)
        XCTAssertEqual(c.score.sensitivity, 60, accuracy: 1e-12)
        XCTAssertEqual(c.score.score, 65, accuracy: 1e-12)
        XCTAssertEqual(c.twoClassScore, c.score)
    }

    func testAllNormalPredictionsScoreFiftyAndAreNotEligible() {
        let c = confusion([[5, 0, 0, 0], [3, 0, 0, 0], [2, 0, 0, 0], [1, 0, 0, 0]])
        XCTAssertEqual(c.score.specificity, 100)
        XCTAssertEqual(c.score.sensitivity, 0)
        XCTAssertEqual(c.score.score, 50)
        XCTAssertFalse(c.score.eligibleForBest)
    }

    func testBestEpochNeedsSensitivityAboveFive() {
        var tracker = BestEpochTracker()
        // Epoch 1: score 50 but Se 0 -> not eligible.
        XCTAssertFalse(tracker.offer(epoch: 1, score: ICBHIScore(normalHits: 10, normalCount: 10, abnormalHits: 0, abnormalCount: 10)))
        // Epoch 2: Se exactly 5 -> not eligible (Se > 5 is required).
        XCTAssertFalse(tracker.offer(epoch: 2, score: ICBHIScore(normalHits: 10, normalCount: 10, abnormalHits: 1, abnormalCount: 20)))
        // Epoch 3: Sp 60, Se 40 -> 50, eligible.
        XCTAssertTrue(tracker.offer(epoch: 3, score: ICBHIScore(normalHits: 6, normalCount: 10, abnormalHits: 4, abnormalCount: 10)))
        // Epoch 4: same score -> the earlier epoch stays best.
        XCTAssertFalse(tracker.offer(epoch: 4, score: ICBHIScore(normalHits: 4, normalCount: 10, abnormalHits: 6, abnormalCount: 10)))
        // Epoch 5: higher.
        XCTAssertTrue(tracker.offer(epoch: 5, score: ICBHIScore(normalHits: 7, normalCount: 10, abnormalHits: 5, abnormalCount: 10)))
        XCTAssertEqual(tracker.epoch, 5)
        XCTAssertEqual(tracker.best?.score ?? 0, 60, accuracy: 1e-12)
    }

    func testCosineScheduleMatchesReferenceFormula() {
        // eta_min = lr * 1e-3; epoch 50 of 50 lands on eta_min; epoch 25 halfway.
        XCTAssertEqual(cosineLearningRate(base: 5e-5, epoch: 50, epochs: 50), 5e-8, accuracy: 1e-20)
        XCTAssertEqual(cosineLearningRate(base: 5e-5, epoch: 25, epochs: 50), 5e-8 + (5e-5 - 5e-8) / 2, accuracy: 1e-18)
        let e1 = 5e-8 + (5e-5 - 5e-8) * (1 + cos(Double.pi / 50)) / 2
        XCTAssertEqual(cosineLearningRate(base: 5e-5, epoch: 1, epochs: 50), e1, accuracy: 1e-18)
    }
}
