import Foundation
import TestSupport
import XCTest

/// Paths of the shared goldens (`../shared` beside the repository, located by TestSupport).
enum Paths {
    static let repositoryRoot = Fixtures.repositoryRoot
    static let shared = Fixtures.shared
    static let golden = Fixtures.goldenPath
    static let astTinyCheckpoint = Fixtures.shared("golden/ast_tiny_audioset_layout.pth")

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

/// The built products (the `train` executable sits beside the test bundle), run by TestSupport.
enum Products {
    /// Runs a built executable with `arguments`; fails the test when it is not built.
    static func run(_ name: String, _ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws -> TestSupport.RunResult {
        do {
            return try Fixtures.run(name, arguments)
        } catch let error as FixtureError {
            XCTFail(error.description, file: file, line: line)
            throw error
        }
    }
}
