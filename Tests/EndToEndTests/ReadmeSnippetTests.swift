import Foundation
import TestSupport
import XCTest

/// The README's plain-h5py snippet really reads the shards `prep features` writes.
final class ReadmeSnippetTests: PrepTestCase {
    func testReadmeH5pySnippetReadsOurShards() throws {
        let readme = try String(contentsOf: Fixtures.repositoryRoot.appendingPathComponent("README.md"), encoding: .utf8)
        let marker = try XCTUnwrap(readme.range(of: "<!-- readme-h5py-snippet -->\n```python\n"), "snippet marker missing")
        let end = try XCTUnwrap(readme.range(of: "\n```", range: marker.upperBound..<readme.endIndex))
        let snippet = String(readme[marker.upperBound..<end.lowerBound])

        let dataset = try linkedDataset(from: [Fixtures.sampleDirectory])
        try prep(["ingest", dataset])
        try prep(["features", "--name", "demo"])
        let script = workspace + "/snippet.py"
        try snippet.write(toFile: script, atomically: true, encoding: .utf8)
        let run = try Fixtures.run(executableAt: Fixtures.python3(importing: ["h5py", "numpy"]), [script], in: workspace)
        let output = run.stdout
        XCTAssertEqual(run.status, 0, run.description)
        XCTAssertTrue(output.contains("#"), run.description)
        XCTAssertTrue(output.contains("(798, 128) audioset"), run.description)
        print("README h5py snippet output: \(output)")
    }
}
