import AudioDSP
import Foundation
import HDF5
import TestSupport
import XCTest

/// Steps 1-3 of REFERENCE.md (decode, resample to 16 kHz, fade) against
/// `golden.h5:recordings/<stem>/faded_16k`, written by torchaudio 0.13.
final class ResamplingGoldenTests: XCTestCase {
    /// Tolerance of the reference path (issue 2, acceptance 3): float32 rounding of a
    /// differently ordered sum is about 1e-7.
    static let referenceTolerance: Float = 1e-5
    /// libsamplerate's converters against torchaudio's (issue 2, acceptance 4).
    static let minimumSNR = 55.0

    private struct Recording {
        var stem: String
        var url: URL
        var golden: [Float]
        var sourceRate: Int
        var sourceFrames: Int
    }

    private func recordings(includeEdge: Bool) throws -> [Recording] {
        let file = try AudioFixtures.golden()
        let urls = AudioFixtures.sampleRecordings() + (includeEdge ? AudioFixtures.edgeRecordings() : [])
        let stored = Set(try file.children(of: "/recordings"))
        return try urls.map { url in
            let stem = AudioFixtures.stem(url)
            XCTAssertTrue(stored.contains(stem), "golden.h5 has no recordings/\(stem)")
            let group = "/recordings/\(stem)"
            let (values, shape) = try file.read("\(group)/faded_16k", as: Float.self)
            XCTAssertEqual(shape, [values.count])
            let rate = try XCTUnwrap(try file.attribute("source_sample_rate", on: group)?.integerValue)
            let frames = try XCTUnwrap(try file.attribute("source_frames", on: group)?.integerValue)
            return Recording(stem: stem, url: url, golden: values, sourceRate: Int(rate), sourceFrames: Int(frames))
        }
    }

    private func process(_ recording: Recording, with kind: ResamplerKind) throws -> [Float] {
        let audio = try AudioDecoder.decode(contentsOf: recording.url.path)
        XCTAssertEqual(audio.sampleRate, recording.sourceRate, recording.stem)
        XCTAssertEqual(audio.frames, recording.sourceFrames, recording.stem)
        var resampled = try Resampler(kind: kind).resample(audio.samples, from: audio.sampleRate, to: 16000)
        try Fade.recording.apply(to: &resampled)
        return resampled
    }

    func testReferenceMatchesTorchaudioOnEveryRecording() throws {
        let all = try recordings(includeEdge: true)
        XCTAssertEqual(all.count, 12, "10 sample and 2 edge recordings expected")
        for recording in all {
            let ours = try process(recording, with: .reference)
            XCTAssertEqual(ours.count, recording.golden.count, "\(recording.stem): length")
            guard ours.count == recording.golden.count else { continue }
            let maxDiff = maxAbsDifference(ours, recording.golden, recording.stem)
            print(String(format: "  reference %@ (%d Hz, %d -> %d samples): max |diff| %.3g",
                         recording.stem, recording.sourceRate, recording.sourceFrames, ours.count, Double(maxDiff)))
            XCTAssertLessThanOrEqual(maxDiff, Self.referenceTolerance, recording.stem)
        }
    }

    func testLibsamplerateConvertersReachTheSNRFloor() throws {
        let samples = try recordings(includeEdge: false)
        XCTAssertEqual(samples.count, 10)
        for kind in ResamplerKind.allCases where kind != .reference {
            for recording in samples {
                let ours = try process(recording, with: kind)
                XCTAssertEqual(ours.count, recording.golden.count, "\(kind) \(recording.stem): length")
                guard ours.count == recording.golden.count else { continue }
                var signal = 0.0, noise = 0.0
                for i in ours.indices {
                    let g = Double(recording.golden[i])
                    signal += g * g
                    noise += (Double(ours[i]) - g) * (Double(ours[i]) - g)
                }
                let snr = 10 * log10(signal / noise)
                print(String(format: "  %@ %@ (%d Hz): SNR %.1f dB", kind.rawValue, recording.stem, recording.sourceRate, snr))
                XCTAssertGreaterThanOrEqual(snr, Self.minimumSNR, "\(kind) \(recording.stem)")
            }
        }
    }
}
