import Foundation
import TestSupport
import TorchCheckpoint
import XCTest

/// Issue #20: `mkfifo f.pth; train --inspect-checkpoint f.pth` waited for a writer forever.
/// Named pipes and directories are refused by what `stat` says, before any open.
final class NonRegularFileTests: XCTestCase {
    func testNamedPipeAndDirectoryAreRefusedUnopened() throws {
        let directory = try Fixture.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let pipe = directory + "/f.pth"
        try FIFOGuard.make(pipe)
        let (message, hung) = FIFOGuard.run(releasing: pipe) { () -> String in
            do { _ = try TorchCheckpoint(path: pipe); return "read" } catch { return "\(error)" }
        }
        XCTAssertFalse(hung, "the reader waited on the named pipe")
        XCTAssertEqual(message, "\(pipe): not a regular file (a named pipe): not a checkpoint")
        XCTAssertThrowsError(try TorchCheckpoint(path: directory)) { error in
            XCTAssertEqual("\(error)", "\(directory): not a regular file (a directory): not a checkpoint")
        }
    }
}
