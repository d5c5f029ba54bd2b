import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import XCTest
@testable import Training

final class TrainingCurvesTests: XCTestCase {
    private func record(_ epoch: Int, loss: Double, score: Double) -> EpochRecord {
        EpochRecord(epoch: epoch, learningRate: 1e-3, trainLoss: loss, trainCELoss: loss, trainConLoss: 0, steps: 10,
                    specificity: score + 10, sensitivity: score - 10, score: score, specificity2: 0, sensitivity2: 0,
                    score2: 0, best: false, trainSeconds: 1, evalSeconds: 1, dataWaitFraction: 0, confusion: [])
    }

    /// The plot is well-formed SVG with one point per epoch on each curve, placed by value.
    func testSVGHasOnePointPerEpochAndParses() throws {
        let history = [record(1, loss: 3, score: 50), record(2, loss: 2, score: 60), record(3, loss: 1, score: 80)]
        let svg = TrainingCurves.svg(history)
        final class Collector: NSObject, XMLParserDelegate {
            var polylines: [String: String] = [:]
            func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                        attributes: [String: String] = [:]) {
                if name == "polyline", let cls = attributes["class"] { polylines[cls] = attributes["points"] }
            }
        }
        let parser = XMLParser(data: Data(svg.utf8))
        let collector = Collector()
        parser.delegate = collector
        XCTAssertTrue(parser.parse(), "not well-formed: \(String(describing: parser.parserError))")
        XCTAssertEqual(Set(collector.polylines.keys), ["loss", "score", "Sp", "Se"])
        for (name, points) in collector.polylines {
            XCTAssertEqual(points.split(separator: " ").count, 3, name)
        }
        // Loss falls, so its y (SVG grows downwards) rises; the score rises, so its y falls.
        let lossY = collector.polylines["loss"]!.split(separator: " ").map { Double($0.split(separator: ",")[1])! }
        let scoreY = collector.polylines["score"]!.split(separator: " ").map { Double($0.split(separator: ",")[1])! }
        XCTAssertEqual(lossY, lossY.sorted())
        XCTAssertEqual(scoreY, scoreY.sorted(by: >))

        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("curves-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try TrainingCurves.write(history, to: directory)
        XCTAssertEqual(try String(contentsOfFile: directory + "/curves.svg", encoding: .utf8), svg)
    }
}
