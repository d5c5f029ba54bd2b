import Foundation
import HDF5
import TestSupport
import XCTest

/// `../shared/golden/golden.h5` beside the repository (REFERENCE.md), located by TestSupport.
enum FbankGolden {
    static let path: String = Fixtures.goldenPath

    /// Opens the golden file, or fails the test with a clear message (never skips silently).
    static func open(file: StaticString = #filePath, line: UInt = #line) throws -> HDF5File {
        guard FileManager.default.fileExists(atPath: path) else {
            XCTFail("golden file missing: \(path) (expected ../shared/golden/golden.h5 beside the repository; "
                    + "regenerate with ../shared/tools/make_goldens.py)", file: file, line: line)
            throw CocoaError(.fileNoSuchFile)
        }
        return try HDF5File(path: path, mode: .readOnly)
    }
}
