import Foundation

/// Shared fixtures for the test targets: where the repository, `../shared` and the built
/// binaries are, scratch directories, and running the real executables.
public enum Fixtures {
    /// The repository root (this file is `Sources/TestSupport/TestSupport.swift`).
    public static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// `../shared` beside the repository (goldens, ICBHI sample, reference tools).
    public static let shared = repositoryRoot.deletingLastPathComponent().appendingPathComponent("shared")

    public static var goldenPath: String { shared.appendingPathComponent("golden/golden.h5").path }
    public static var sampleDirectory: String { shared.appendingPathComponent("icbhi/sample").path }
    public static var edgeDirectory: String { shared.appendingPathComponent("golden/edge").path }
    public static var annotationsDirectory: String { repositoryRoot.appendingPathComponent("manifests/icbhi/annotations").path }
    public static var metadataDirectory: String { repositoryRoot.appendingPathComponent("manifests/icbhi").path }

    /// Throws a readable error when `../shared` is absent, so tests fail (never skip silently).
    public static func requireShared() throws {
        guard FileManager.default.fileExists(atPath: goldenPath) else {
            throw FixtureError("../shared is missing (looked for \(goldenPath)): the tests need the goldens and ICBHI sample")
        }
    }

    /// A fresh scratch directory, removed by the caller (or left for inspection on failure).
    public static func scratchDirectory(_ label: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("respcache-\(label)-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// The directory of the built executables (beside the test bundle).
    public static var productsDirectory: URL {
        if let bundle = Bundle.allBundles.first(where: { $0.bundlePath.hasSuffix(".xctest") }) {
            return URL(fileURLWithPath: bundle.bundlePath).deletingLastPathComponent()
        }
        // Linux: the test bundle is an executable (`….xctest`) run directly, and no bundle ends in
        // .xctest; its directory holds the products. Without this, `swift test --scratch-path X`
        // ran the binaries of .build/debug instead of X's.
        if let executable = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"),
           executable.hasSuffix(".xctest") {
            return URL(fileURLWithPath: executable).deletingLastPathComponent()
        }
        return repositoryRoot.appendingPathComponent(".build/debug")
    }

    /// Runs a built executable and returns its exit status and output.
    @discardableResult
    public static func run(_ executable: String, _ arguments: [String], in directory: String? = nil,
                           environment: [String: String] = [:]) throws -> RunResult {
        try run(executableAt: productsDirectory.appendingPathComponent(executable).path, arguments,
                in: directory, environment: environment)
    }

    /// Runs any executable, by absolute path (python3, h5dump, /bin/sh), and returns its exit
    /// status and output.
    @discardableResult
    public static func run(executableAt path: String, _ arguments: [String], in directory: String? = nil,
                           environment: [String: String] = [:]) throws -> RunResult {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let outPath = try scratchDirectory("out") + "/out", errPath = outPath + ".err"
        _ = FileManager.default.createFile(atPath: outPath, contents: nil)
        _ = FileManager.default.createFile(atPath: errPath, contents: nil)
        let out = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
        let err = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        process.standardOutput = out
        process.standardError = err
        try process.run()
        process.waitUntilExit()
        try out.close()
        try err.close()
        defer { try? FileManager.default.removeItem(atPath: URL(fileURLWithPath: outPath).deletingLastPathComponent().path) }
        return RunResult(status: process.terminationStatus,
                         stdout: (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "",
                         stderr: (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "")
    }

    /// Starts an executable without waiting (for kill tests).
    public static func start(_ executable: String, _ arguments: [String], in directory: String? = nil) throws -> Process {
        let process = Process()
        process.executableURL = productsDirectory.appendingPathComponent(executable)
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    /// SHA-256 of every regular file under a directory, by relative path (for bit-identity checks).
    public static func fileBytes(under directory: String, matching suffix: String = "") throws -> [String: Data] {
        var result: [String: Data] = [:]
        let enumerator = FileManager.default.enumerator(atPath: directory)
        while let relative = enumerator?.nextObject() as? String {
            guard relative.hasSuffix(suffix) else { continue }
            var isDirectory: ObjCBool = false
            let path = directory + "/" + relative
            if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue {
                result[relative] = try Data(contentsOf: URL(fileURLWithPath: path))
            }
        }
        return result
    }
}

public struct RunResult: Sendable, CustomStringConvertible {
    public let status: Int32
    public let stdout: String
    public let stderr: String
    public var description: String { "exit \(status)\n--- stdout\n\(stdout)\n--- stderr\n\(stderr)" }

    public init(status: Int32, stdout: String, stderr: String) {
        self.status = status
        self.stdout = stdout
        self.stderr = stderr
    }
}

public struct FixtureError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
