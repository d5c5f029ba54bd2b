import ICBHI
import XCTest

final class CycleTests: XCTestCase {
    private func cycle(_ start: Double, _ end: Double) -> AnnotatedCycle {
        AnnotatedCycle(index: 0, start: start, end: end, crackle: false, wheeze: false, line: 1)
    }

    func testLabelsFromFlags() {
        XCTAssertEqual(CycleLabel(crackle: false, wheeze: false), .normal)
        XCTAssertEqual(CycleLabel(crackle: true, wheeze: false), .crackle)
        XCTAssertEqual(CycleLabel(crackle: false, wheeze: true), .wheeze)
        XCTAssertEqual(CycleLabel(crackle: true, wheeze: true), .both)
        XCTAssertEqual(CycleLabel.allCases.map(\.rawValue), [0, 1, 2, 3])
        XCTAssertEqual(CycleLabel.allCases.map(\.binary), [0, 1, 1, 1])
        XCTAssertEqual(CycleLabel.allCases.map(\.name), ["normal", "crackle", "wheeze", "both"])
        XCTAssertEqual(AnnotatedCycle(index: 0, start: 0, end: 1, crackle: true, wheeze: true, line: 1).label, .both)
    }

    func testSliceBoundsTruncateTowardZero() {
        XCTAssertEqual(cycle(0.5999, 1.0).sliceBounds(sampleRate: 16000, frames: 100_000), 9598..<16000)
        XCTAssertEqual(cycle(0.036, 0.579).sliceBounds(sampleRate: 16000, frames: 100_000),
                       Int(0.036 * 16000.0)..<Int(0.579 * 16000.0))
        XCTAssertEqual(cycle(1.99999, 2.00001).sliceBounds(sampleRate: 4000, frames: 100_000), 7999..<8000)
        XCTAssertEqual(cycle(0, 0.0001).sliceBounds(sampleRate: 4000, frames: 100_000), 0..<0)
    }

    func testSliceBoundsClampToFrames() {
        XCTAssertEqual(cycle(1, 3).sliceBounds(sampleRate: 16000, frames: 40000), 16000..<40000)
        XCTAssertEqual(cycle(3, 4).sliceBounds(sampleRate: 16000, frames: 40000), 40000..<40000)
        XCTAssertEqual(cycle(1, 2).sliceBounds(sampleRate: 16000, frames: 0), 0..<0)
        XCTAssertEqual(cycle(1, 2).sliceBounds(sampleRate: 16000, frames: -5), 0..<0)
    }

    func testSliceBoundsNeverTrapOnOddValues() {
        XCTAssertEqual(cycle(-1, 0.5).sliceBounds(sampleRate: 16000, frames: 100_000), 0..<8000)
        XCTAssertEqual(cycle(2, 1).sliceBounds(sampleRate: 16000, frames: 100_000), 32000..<32000)
        XCTAssertEqual(cycle(.nan, .infinity).sliceBounds(sampleRate: 16000, frames: 10), 0..<10)
        XCTAssertEqual(cycle(1e300, 1e301).sliceBounds(sampleRate: 16000, frames: 10), 10..<10)
    }
}
