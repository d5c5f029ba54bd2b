import AudioDSP
import FeatureStore
import PrepKit
import XCTest

/// The facts that have one home (docs/architecture.md, "Where each fact lives") still give what
/// was written before they had one: the records, options and constants below are pinned.
final class OneHomeTests: XCTestCase {
    func testReferenceAudioConstants() {
        XCTAssertEqual(ReferenceAudio.sampleRate, 16000)
        XCTAssertEqual(ReferenceAudio.fadeLength, 1000)
        XCTAssertEqual(Fade.recording, Fade(fadeInLength: 1000, fadeOutLength: 1000))
        XCTAssertEqual(LengthFixing.reference.fadeOutLength, 1000)
        XCTAssertEqual(try LengthFixing(seconds: 8, sampleRate: 16000).fadeOutLength, 1000)
        XCTAssertEqual(FbankOptions.paper.sampleFrequency, 16000)
    }

    func testNormalisationRecordsAreThoseWrittenBefore() {
        XCTAssertEqual(FeatureSetIndex.Normalisation(FeatureNormalization.none), .init(kind: "none", mean: 0, std: 0.5, scale: 2))
        XCTAssertEqual(FeatureSetIndex.Normalisation.unnormalised, .init(kind: "none", mean: 0, std: 0.5, scale: 2))
        XCTAssertEqual(FeatureSetIndex.Normalisation(FeatureNormalization.audioset),
                       .init(kind: "audioset", mean: -4.2677393, std: 4.5689974, scale: 2))
        XCTAssertEqual(FeatureSetIndex.Normalisation(FeatureNormalization.train(mean: -3.5, std: 4.25)),
                       .init(kind: "train", mean: -3.5, std: 4.25, scale: 2))
    }

    func testNormalisationDecodesWhatItEncodes() {
        for normalisation in [FeatureNormalization.none, .audioset, .train(mean: -3.5, std: 4.25)] {
            XCTAssertEqual(FeatureNormalization(FeatureSetIndex.Normalisation(normalisation)), normalisation)
        }
        XCTAssertNil(FeatureNormalization(.init(kind: "cepstral", mean: 0, std: 1, scale: 2)))
    }

    func testLengthFixingDecodesBothEncodings() throws {
        var options = FeatureOptions()
        try options.setLength(seconds: 4, padding: .zero)
        XCTAssertEqual(try LengthFixing(featureSetOptions: options.indexedOptions), options.lengthFixing)
        XCTAssertEqual(try LengthFixing(featureSetOptions: options.describedOptions.mapValues { .string($0) }), options.lengthFixing)
        XCTAssertThrowsError(try LengthFixing(featureSetOptions: [:])) { XCTAssertEqual("\($0)", "no length_samples") }
    }

    func testDescribedOptionsAreThoseWrittenBefore() {
        let described = FeatureOptions().describedOptions
        let own = described.filter { !$0.key.hasPrefix("fbank_") }
        XCTAssertEqual(own, ["length_samples": "128000", "pad": "repeat", "pad_fade_out_samples": "1000", "normalisation": "audioset",
                             "shard_size": "1024", "deflate_level": "0", "dtype": "float32"])
        XCTAssertEqual(described["fbank_htkCompat"], "1")
        XCTAssertEqual(described["fbank_sampleFrequency"], "16000")
        XCTAssertEqual(Set(FeatureOptions().indexedOptions.keys), Set(described.keys))
    }

    func testTwoClassRule() {
        XCTAssertEqual((0...3).map(ShardRow.binaryLabel(of:)), [0, 1, 1, 1])
    }
}
