import PrepKit
import SPRSound
import XCTest

/// The one rule ingest and `predict` share for SPRSound events, and where `predict` looks for a
/// WAV's annotation.
final class SPRSoundEventSlicingTests: XCTestCase {
    private func event(_ start: Double, _ end: Double) -> SPRSoundAnnotation.Event {
        SPRSoundAnnotation.Event(position: 0, start: start, end: end, type: "Normal")
    }

    func testEventsAreClampedToTheAudioAndThoseAfterItSkipped() {
        XCTAssertEqual(SPRSoundEventSlicing.slice(event(0.5, 1.0), frames: 100_000), .kept(bounds: 8000..<16000, clamped: false))
        XCTAssertEqual(SPRSoundEventSlicing.slice(event(1.0, 3.0), frames: 40_000), .kept(bounds: 16000..<40000, clamped: true))
        XCTAssertEqual(SPRSoundEventSlicing.slice(event(2.5, 3.0), frames: 40_000), .skipped)
        XCTAssertEqual(SPRSoundEventSlicing.slice(event(0.0, 0.00001), frames: 40_000), .skipped, "empty after int()")
        XCTAssertEqual(SPRSoundEventSlicing.bounds(start: 0.5999, end: 1.0, frames: 100_000), 9598..<16000)
    }

    func testTheAnnotationOfAWAVIsBesideItOrInTheSiblingJSONFolder() {
        XCTAssertEqual(SPRSoundEventSlicing.annotationCandidates(forWAV: "/d/BioCAS2022/train2022_wav/x.wav"),
                       ["/d/BioCAS2022/train2022_wav/x.json", "/d/BioCAS2022/train2022_json/x.json"])
        XCTAssertEqual(SPRSoundEventSlicing.annotationCandidates(forWAV: "/d/test2022_wav/inter_test_wav/x.wav"),
                       ["/d/test2022_wav/inter_test_wav/x.json", "/d/test2022_json/inter_test_json/x.json", "/d/test2022_wav/inter_test_json/x.json"])
        XCTAssertEqual(SPRSoundEventSlicing.annotationCandidates(forWAV: "rel/x.wav"), ["rel/x.json"].map { FileManager.default.currentDirectoryPath + "/" + $0 })
    }
}
