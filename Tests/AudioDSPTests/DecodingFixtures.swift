import Foundation
import HDF5
import TestSupport
import XCTest

/// The shared goldens and audio (`<repo>/../shared`, located by TestSupport's `Fixtures`).
/// Missing data is a test failure with a clear message, never a silent skip.
enum AudioFixtures {
    static let goldenPath = Fixtures.goldenPath
    static let sampleDirectory = URL(fileURLWithPath: Fixtures.sampleDirectory)
    static let edgeDirectory = URL(fileURLWithPath: Fixtures.edgeDirectory)

    /// The sample recordings (`icbhi/sample/*.wav`), sorted by stem.
    static func sampleRecordings(file: StaticString = #filePath, line: UInt = #line) -> [URL] {
        wavFiles(in: sampleDirectory, file: file, line: line)
    }

    /// The golden edge recordings (`golden/edge/*.wav`).
    static func edgeRecordings(file: StaticString = #filePath, line: UInt = #line) -> [URL] {
        wavFiles(in: edgeDirectory, file: file, line: line)
    }

    static func wavFiles(in directory: URL, file: StaticString = #filePath, line: UInt = #line) -> [URL] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        let wavs = names.filter { $0.hasSuffix(".wav") }.sorted().map { directory.appendingPathComponent($0) }
        if wavs.isEmpty {
            XCTFail("no .wav recordings in \(directory.path): the shared ICBHI sample and golden edge files are required", file: file, line: line)
        }
        return wavs
    }

    /// Opens golden.h5, failing the test with the path when it is missing.
    static func golden(file: StaticString = #filePath, line: UInt = #line) throws -> HDF5File {
        guard FileManager.default.fileExists(atPath: goldenPath) else {
            XCTFail("golden file missing: \(goldenPath) (generate it with ../shared/tools/make_goldens.py)", file: file, line: line)
            throw CocoaError(.fileNoSuchFile)
        }
        return try HDF5File(path: goldenPath, mode: .readOnly)
    }

    static func stem(_ url: URL) -> String { url.deletingPathExtension().lastPathComponent }

    /// A fresh temporary directory, removed when the test ends.
    static func temporaryDirectory(for test: XCTestCase) throws -> URL {
        let dir = FileManager.default.temporaryDirectory
            .appendingPathComponent("audiodsp-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        test.addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        return dir
    }
}
