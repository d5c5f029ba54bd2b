import Foundation
import PrepKit
import TestSupport
import XCTest

/// Every constrained option of `prep ingest` and `prep features` is checked once, by the
/// library's `validate()`, before anything runs: an invalid value is a usage error (exit 64)
/// with exactly one message, and nothing is written.
final class OptionValidationTests: PrepTestCase {
    func testInvalidOptionsFailAtTheCommandLineWithOneMessageAndWriteNothing() throws {
        let dataset = workspace + "/icbhi"
        let cases: [(arguments: [String], message: String)] = [
            (["ingest", dataset, "--jobs", "0"], "--jobs must be at least 1"),
            (["ingest", dataset, "--wait=-1"], "--wait must be a finite number of seconds"),
            (["ingest", dataset, "--wait", "nan"], "--wait must be a finite number of seconds"),
            (["ingest", dataset, "--resampler", "linear"], "--resampler"),
            (["features", "--num-mel-bins", "2"], "num-mel-bins must be > 3, got 2"),
            (["features", "--num-mel-bins", "0"], "num-mel-bins must be > 3, got 0"),
            (["features", "--length", "0"], "--length: invalid length fixing"),
            (["features", "--length=-1"], "--length: invalid length fixing"),
            (["features", "--length", "nan"], "got nan s"),
            (["features", "--length", "inf"], "got inf s"),
            (["features", "--length", "0.01"], "gives no fbank frame"),
            (["features", "--pad", "mirror"], "--pad"),
            (["features", "--norm", "max"], "--norm"),
            (["features", "--shard-size", "0"], "--shard-size must be at least 1"),
            (["features", "--dtype", "float64"], "--dtype"),
            (["features", "--name", "a/b"], "--name must be a plain directory name"),
            (["features", "--name", ".hidden"], "--name must be a plain directory name"),
            (["features", "--frame-length", "0"], "frame-length 0.0 ms"),
            (["features", "--frame-length", "nan"], "frame-length nan ms"),
            (["features", "--frame-length", "1e300"], "frame-length 1e+300 ms"),
            (["features", "--frame-shift", "0"], "frame-shift 0.0 ms"),
            (["features", "--frame-shift", "inf"], "frame-shift inf ms"),
            (["features", "--window", "kaiser"], "--window"),
            (["features", "--low-freq=-1"], "bad low-freq"),
            (["features", "--low-freq", "8000"], "bad low-freq"),
            (["features", "--high-freq", "9000"], "bad low-freq"),
            (["features", "--low-freq", "4000", "--high-freq", "3000"], "bad low-freq"),
            (["features", "--preemphasis", "1.5"], "preemphasis-coefficient must be in [0, 1]"),
            (["features", "--preemphasis", "nan"], "preemphasis-coefficient must be in [0, 1]"),
            (["features", "--jobs", "0"], "--jobs must be at least 1"),
            (["features", "--wait=-1"], "--wait must be a finite number of seconds"),
            // Several problems: still one message, listing them all.
            (["features", "--num-mel-bins", "2", "--jobs", "0"], "num-mel-bins must be > 3, got 2\n--jobs must be at least 1"),
        ]
        for (arguments, message) in cases {
            let result = try prep(arguments, expectStatus: 64)
            let described = "prep \(arguments.joined(separator: " ")):\n\(result)"
            XCTAssertTrue(result.stderr.contains(message), "expected '\(message)' in " + described)
            XCTAssertEqual(result.stderr.components(separatedBy: "Error:").count - 1, 1, "one message: " + described)
            XCTAssertEqual(result.stdout, "", described)
            XCTAssertFalse(FileManager.default.fileExists(atPath: cache), "wrote the cache: " + described)
            XCTAssertFalse(FileManager.default.fileExists(atPath: manifests), "wrote the manifests: " + described)
        }
    }

    /// Lengths in seconds give the options (and so the feature-set ids) the command gave before
    /// the conversion moved into the library: whole samples at 16 kHz, a 1000-sample fade-out.
    func testLengthInSecondsDescribesTheSameFeatureSetAsBefore() throws {
        var options = FeatureOptions()
        try options.setLength(seconds: 8, padding: .repeat)
        XCTAssertEqual(options.describedOptions, FeatureOptions().describedOptions)
        XCTAssertEqual(options.lengthSeconds, 8)
        try options.setLength(seconds: 2.5, padding: .zero)
        XCTAssertEqual(options.describedOptions["length_samples"], "40000")
        XCTAssertEqual(options.describedOptions["pad"], "zero")
        XCTAssertEqual(options.describedOptions["pad_fade_out_samples"], "1000")
        options.isCompressed = true
        XCTAssertEqual(options.describedOptions["deflate_level"], "4")
        XCTAssertNoThrow(try options.validate())
    }
}
