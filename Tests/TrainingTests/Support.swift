import Foundation
import XCTest

/// Paths of the shared goldens, found from this file's location (../shared beside the repository).
enum Paths {
    static let repositoryRoot = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let shared = repositoryRoot.deletingLastPathComponent().appendingPathComponent("shared")
    static let golden = shared.appendingPathComponent("golden/golden.h5").path
    static let astTinyCheckpoint = shared.appendingPathComponent("golden/ast_tiny_audioset_layout.pth").path

    /// A fresh temporary directory.
    static func temporaryDirectory(_ name: String) throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("training-tests-\(name)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url.path
    }
}

/// Debian's Python with torch (the reference stack), for generating test checkpoints.
enum ReferencePython {
    static let executable = "/usr/bin/python3"

    /// Runs `script` with `arguments`; skips the test visibly when torch is not importable.
    static func run(_ script: String, _ arguments: [String] = []) throws {
        guard FileManager.default.isExecutableFile(atPath: executable) else {
            throw XCTSkip("\(executable) is missing: cannot generate the checkpoint this test needs (install python3-torch)")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["-c", script] + arguments
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        let stderr = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let message = String(decoding: stderr, as: UTF8.self)
        if process.terminationStatus != 0 && message.contains("No module named 'torch'") {
            throw XCTSkip("python3-torch is not installed: cannot generate the checkpoint this test needs")
        }
        guard process.terminationStatus == 0 else {
            XCTFail("python failed (\(process.terminationStatus)): \(message)")
            throw CocoaError(.fileWriteUnknown)
        }
    }
}

/// The built products (the `train` executable sits beside the test bundle).
enum Products {
    static var directory: URL {
        for bundle in Bundle.allBundles where bundle.bundlePath.hasSuffix(".xctest") {
            return bundle.bundleURL.deletingLastPathComponent()
        }
        return Bundle.main.bundleURL
    }

    struct Output {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Runs a built executable with `arguments`.
    static func run(_ name: String, _ arguments: [String]) throws -> Output {
        let url = directory.appendingPathComponent(name)
        guard FileManager.default.isExecutableFile(atPath: url.path) else {
            XCTFail("\(url.path) is not built (run `swift build --product \(name)` first)")
            throw CocoaError(.fileNoSuchFile)
        }
        let process = Process()
        process.executableURL = url
        process.arguments = arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // Read both pipes concurrently enough for small outputs: stderr after stdout.
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Output(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                      stderr: String(decoding: stderr, as: UTF8.self))
    }
}
