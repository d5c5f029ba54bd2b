import Foundation
import TestSupport
@testable import Training
import TrainingTestSupport
import XCTest

/// `TrainingError` says what happened by its case, with the message users have always seen.
final class TrainingErrorTests: XCTestCase {
    func testEachKindOfEventHasItsOwnCase() throws {
        let dir = try Paths.temporaryDirectory("errors")
        defer { try? FileManager.default.removeItem(atPath: dir) }

        var options = SyntheticCorpus.options(output: dir + "/run", epochs: 1)
        options.batchSize = 1
        XCTAssertThrowsError(try options.validate()) { error in
            guard case .invalidOption(let message) = error as? TrainingError else { return XCTFail("\(error)") }
            XCTAssertEqual(message, "--batch-size must be at least 2")
        }

        let file = dir + "/afile"
        XCTAssertTrue(FileManager.default.createFile(atPath: file, contents: Data()))
        XCTAssertThrowsError(try RunDirectory(file)) { error in
            guard case .runDirectory = error as? TrainingError else { return XCTFail("\(error)") }
            XCTAssertEqual("\(error)", "cannot use \(file) as the run directory: it is a file, not a directory")
        }

        XCTAssertThrowsError(try ResultsReport.findResults(in: [dir + "/none"])) { error in
            guard case .nothingToReport = error as? TrainingError else { return XCTFail("\(error)") }
            XCTAssertEqual("\(error)", "\(dir)/none: no such directory")
        }

        XCTAssertThrowsError(try SweepArguments.write(ClusterJob(executable: "/bin/true", arguments: [], workingDirectory: dir,
                                                                 outputDirectory: file + "/sub", runs: 1, threadsPerTask: 1,
                                                                 gpusPerTask: 0),
                                                      scheduler: .slurm, image: "", volumeClaim: "", parallelism: 1)) { error in
            guard case .writeFailed(let message) = error as? TrainingError else { return XCTFail("\(error)") }
            XCTAssertTrue(message.hasPrefix("cannot write \(file)/sub/sweep.sbatch: "), message)
        }

        let failed = TrainingError.runsFailed(failures: ["ce/official/seed-1 (exit 1; see x/train.log)"], of: 2)
        XCTAssertEqual("\(failed)", "1 of 2 runs failed: ce/official/seed-1 (exit 1; see x/train.log)")
    }
}
