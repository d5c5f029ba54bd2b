import Foundation
import ICBHI
import TestSupport

/// Locations of the vendored ICBHI files (the repository root from TestSupport), so the tests
/// work from any working directory.
enum Fixtures {
    static let repositoryRoot = TestSupport.Fixtures.repositoryRoot

    static let metadataDirectory = DatasetMetadata.bundledDirectory(repositoryRoot: repositoryRoot)
    static let annotationDirectory = metadataDirectory.appendingPathComponent("annotations", isDirectory: true)

    /// The stems of all vendored annotation files, from the directory listing.
    static func annotationStems() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: annotationDirectory.path)
            .filter { $0.hasSuffix(".txt") }
            .map { String($0.dropLast(4)) }
            .sorted()
    }

    /// A fresh temporary directory holding copies of the vendored metadata files, with
    /// `overrides` (file name -> contents) written over them.
    static func metadataCopy(overriding overrides: [String: String]) throws -> URL {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("icbhi-tests-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        for name in [DatasetMetadata.FileName.officialSplit, DatasetMetadata.FileName.folds,
                     DatasetMetadata.FileName.demographics, DatasetMetadata.FileName.diagnoses,
                     DatasetMetadata.FileName.filenameDifferences] {
            let target = directory.appendingPathComponent(name)
            if let text = overrides[name] {
                try Data(text.utf8).write(to: target)
            } else {
                try FileManager.default.copyItem(at: metadataDirectory.appendingPathComponent(name), to: target)
            }
        }
        return directory
    }
}
