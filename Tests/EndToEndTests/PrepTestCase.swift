import Foundation
import TestSupport
import XCTest

/// Base for end-to-end tests of the real `prep` binary: a scratch workspace with its own cache
/// and manifests, removed afterwards.
class PrepTestCase: XCTestCase {
    var workspace: String!
    var cache: String { workspace + "/cache" }
    var manifests: String { workspace + "/manifests" }

    override func setUpWithError() throws {
        try Fixtures.requireShared()
        workspace = try Fixtures.scratchDirectory(String(describing: type(of: self)))
    }

    override func tearDownWithError() throws {
        if let workspace { try? FileManager.default.removeItem(atPath: workspace) }
    }

    /// `prep <arguments> --cache … --manifests …` (and `--metadata` for ingest).
    @discardableResult
    func prep(_ arguments: [String], expectStatus: Int32? = 0, file: StaticString = #filePath, line: UInt = #line) throws -> ProcessOutput {
        var full = arguments + ["--cache", cache]
        if arguments.first == "ingest" {
            full += ["--manifests", manifests, "--metadata", Fixtures.metadataDirectory]
        } else if arguments.first == "features" {
            full += ["--manifests", manifests]
        }
        let result = try Fixtures.run("prep", full, in: workspace)
        if let expectStatus {
            XCTAssertEqual(result.status, expectStatus, "prep \(arguments.joined(separator: " ")):\n\(result)", file: file, line: line)
        }
        return result
    }

    /// A dataset directory holding symlinks to the given recordings' .wav/.txt.
    func linkedDataset(from directories: [String], name: String = "icbhi") throws -> String {
        let target = workspace + "/" + name
        try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
        for directory in directories {
            for file in try FileManager.default.contentsOfDirectory(atPath: directory) where file.hasSuffix(".wav") || file.hasSuffix(".txt") {
                try FileManager.default.createSymbolicLink(atPath: target + "/" + file, withDestinationPath: directory + "/" + file)
            }
        }
        return target
    }

    /// A dataset directory with real copies (tests that modify files).
    func copiedDataset(from directory: String, files: [String]? = nil, name: String = "icbhi") throws -> String {
        let target = workspace + "/" + name
        try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
        for file in try files ?? FileManager.default.contentsOfDirectory(atPath: directory) {
            try FileManager.default.copyItem(atPath: directory + "/" + file, toPath: target + "/" + file)
        }
        return target
    }

    /// The only feature set directory in the cache.
    func featureSetDirectory() throws -> String {
        let names = try FileManager.default.contentsOfDirectory(atPath: cache).filter { $0.hasPrefix("icbhi-") }
        guard names.count == 1 else { throw FixtureError("expected one feature set in \(cache), found \(names)") }
        return cache + "/" + names[0]
    }
}
