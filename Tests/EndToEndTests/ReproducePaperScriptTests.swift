import Foundation
import TestSupport
import XCTest

/// `scripts/reproduce_paper.sh` end to end at small scale: a synthetic ICBHI-shaped corpus
/// stands in for the licensed audio and the tiny AudioSet-layout checkpoint for the AudioSet
/// one (D 64, 2 blocks: the model's shape comes from it); 3 methods x 2 seeds x 1 epoch instead
/// of 5 seeds x 50 epochs of ast-base.
final class ReproducePaperScriptTests: PrepTestCase {
    func testScriptRunsTheProtocolAndTabulatesIt() throws {
        let corpus = workspace + "/corpus"
        let synth = try Fixtures.run("prep", ["synth", "--out", corpus, "--recordings", "12", "--seed", "2",
                                              "--metadata", Fixtures.metadataDirectory, "--sample-rate-override", "4000"])
        XCTAssertEqual(synth.status, 0, "\(synth)")
        let checkpoint = Fixtures.shared.appendingPathComponent("golden/ast_tiny_audioset_layout.pth").path
        let script = Fixtures.repositoryRoot.appendingPathComponent("scripts/reproduce_paper.sh").path
        let environment = ["BIN": Fixtures.productsDirectory.path, "WORK": workspace + "/paper", "MODEL": "",
                           "SEEDS": "1-2", "EPOCHS": "1"]
        let run = try Fixtures.run(executableAt: Fixtures.tool("bash"), [script, corpus, checkpoint, "--heads", "4", "--parallel", "2"],
                                   environment: environment)
        XCTAssertEqual(run.status, 0, "\(run)")
        let results = try String(contentsOfFile: workspace + "/paper/runs/results.md", encoding: .utf8)
        for method in ["ce", "patchmix", "patchmix_cl"] {
            XCTAssertTrue(results.contains("| \(method) | official | 2 |"), results)
        }
        // Usage errors are clear and happen before any work.
        let usage = try Fixtures.run(executableAt: Fixtures.tool("bash"), [script, corpus])
        XCTAssertEqual(usage.status, 2)
        XCTAssertTrue(usage.stderr.contains("usage:"), "\(usage)")
    }
}
