import Foundation
import TestSupport
import TrainingTestSupport
import XCTest

/// Paths of the shared goldens (`../shared` beside the repository, located by TestSupport; the
/// checkpoints by TrainingTestSupport, shared with EndToEndTests).
enum Paths {
    static let repositoryRoot = Fixtures.repositoryRoot
    static let shared = Fixtures.shared
    static let golden = Fixtures.goldenPath
    static var astTinyCheckpoint: String { CheckpointFixtures.astTinyCheckpoint }

    /// A fresh temporary directory.
    static func temporaryDirectory(_ name: String) throws -> String {
        try Fixtures.scratchDirectory("training-tests-\(name)")
    }
}

/// Debian's Python with torch (the reference stack), for generating test checkpoints.
enum ReferencePython {
    /// Runs `script` with `arguments`; skips the test visibly when torch is not importable.
    static func run(_ script: String, _ arguments: [String] = [], file: StaticString = #filePath, line: UInt = #line) throws {
        try Fixtures.python(script, arguments, file: file, line: line)
    }
}
