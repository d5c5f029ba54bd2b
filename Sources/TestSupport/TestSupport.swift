import Foundation
import XCTest

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

    /// A path under `../shared` (`golden/golden.h5`, `icbhi/sample`, …).
    public static func shared(_ relative: String) -> String { shared.appendingPathComponent(relative).path }

    /// A path under the repository root (`manifests/icbhi`, `scripts/…`).
    public static func repository(_ relative: String) -> String { repositoryRoot.appendingPathComponent(relative).path }

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

    /// The directory of the executables the tests run: `$RESPCACHE_TEST_BINARIES` when set (`make
    /// test` points it at `.build/release`, built just before, so end-to-end runs exercise what users
    /// run, at its speed), else the build beside the test bundle (debug, after `swift build --build-tests`).
    public static var productsDirectory: URL {
        if let directory = ProcessInfo.processInfo.environment["RESPCACHE_TEST_BINARIES"], !directory.isEmpty {
            return URL(fileURLWithPath: directory)
        }
        return testBundleDirectory
    }

    /// The directory beside the test bundle (the products of the configuration the tests were built in).
    private static var testBundleDirectory: URL {
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

    /// The path of a built executable of this configuration (beside the test bundle); throws a
    /// readable error when it is not built.
    public static func executable(_ name: String) throws -> String {
        let path = productsDirectory.appendingPathComponent(name).path
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw FixtureError("\(path) is not built (run `swift build --build-tests`, or `make test-fast`"
                               + (ProcessInfo.processInfo.environment["RESPCACHE_TEST_BINARIES"] == nil ? ")" : "; RESPCACHE_TEST_BINARIES is set)"))
        }
        return path
    }

    /// The release build of an executable, `.build/release/<name>` (the learning test trains with
    /// it: the debug trainer is several times slower). `make test` builds it before the tests; a
    /// plain `swift test` without it fails here, saying so (never silently falls back to debug).
    public static func releaseExecutable(_ name: String) throws -> String {
        let path = repositoryRoot.appendingPathComponent(".build/release/\(name)").path
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw FixtureError("\(path) is missing: this test runs the release `\(name)`; run `make test`, "
                               + "or build it first with `swift build -c release --product \(name)`")
        }
        return path
    }

    /// Runs a built executable and returns its exit status and output.
    @discardableResult
    public static func run(_ executable: String, _ arguments: [String], in directory: String? = nil,
                           environment: [String: String] = [:]) throws -> ProcessOutput {
        try run(executableAt: Self.executable(executable), arguments, in: directory, environment: environment)
    }

    /// Runs a command through `/usr/bin/env` (test plumbing: pkill, mount, chattr, python3 with a
    /// PYTHONPATH); stdout and stderr together in `output`. Status -1 when it cannot start.
    @discardableResult
    public static func system(_ command: [String], environment: [String: String] = [:]) -> (status: Int32, output: String) {
        do {
            let process = try RunningProcess(executableAt: "/usr/bin/env", command, environment: environment, mergeOutput: true)
            let result = process.finish().result
            return (result.status, result.stdout)
        } catch {
            return (-1, "cannot run \(command): \(error)")
        }
    }

    /// Runs a Python script with a python3 that has torch (the reference stack that writes test
    /// checkpoints); fails when there is none (``python3(importing:)``) or on any other error.
    public static func python(_ script: String, _ arguments: [String] = [], file: StaticString = #filePath, line: UInt = #line) throws {
        let result = try run(executableAt: python3(importing: ["torch"]), ["-c", script] + arguments)
        guard result.status == 0 else {
            XCTFail("python failed (\(result.status)): \(result.stderr)", file: file, line: line)
            throw FixtureError("python failed (\(result.status))")
        }
    }

    // MARK: Tools
    //
    // One policy for the tools tests use (python3 and its modules, h5dump, strace, xxhsum,
    // sha256sum, setpriv, unshare): `make setup` installs them; a test finds them on PATH and fails,
    // naming the tool and `make setup`, when one is missing (never skips, never installs).

    /// The path of `name` on PATH; throws a readable error when it is not there.
    public static func tool(_ name: String) throws -> String {
        if let path = onPath(name).first { return path }
        throw FixtureError("`\(name)` is not on PATH (\(searchPath.joined(separator: ":"))): run `make setup`, which installs it")
    }

    /// Every executable called `name` in PATH's directories, in PATH order.
    public static func onPath(_ name: String) -> [String] {
        searchPath.map { $0 + "/" + name }.filter { FileManager.default.isExecutableFile(atPath: $0) }
    }

    private static let pythonCache = LockedCache()

    private static var searchPath: [String] {
        (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":").map(String.init).filter { !$0.isEmpty }
    }

    /// The first `python3` on PATH that imports every module of `modules` (with `environment`, e.g.
    /// a PYTHONPATH). The first python3 on PATH need not be the one `make setup` gave the modules to
    /// (a pyenv or venv python ahead of Debian's), so each is asked in PATH order.
    public static func python3(importing modules: [String], environment: [String: String] = [:]) throws -> String {
        let key = modules.joined(separator: ",") + "|" + environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
        if let known = pythonCache.value(key) { return known }   // importing torch takes seconds: ask once
        let candidates = onPath("python3")
        var tried: [String] = []
        for candidate in candidates {
            let probe = try run(executableAt: candidate, ["-c", "import " + modules.joined(separator: ", ")], environment: environment)
            if probe.status == 0 {
                pythonCache.set(key, candidate)
                return candidate
            }
            tried.append("\(candidate): \(probe.stderr.split(separator: "\n").last ?? "exit \(probe.status)")")
        }
        throw FixtureError("no python3 on PATH imports \(modules.joined(separator: ", ")) (run `make setup`, which installs Debian's "
                           + "python3-h5py, python3-numpy, python3-torch); tried: \(tried.isEmpty ? "none found" : tried.joined(separator: "; "))")
    }

    /// Runs any executable, by path (from ``tool(_:)``, or /bin/sh), and returns its exit
    /// status and output.
    @discardableResult
    public static func run(executableAt path: String, _ arguments: [String], in directory: String? = nil,
                           environment: [String: String] = [:]) throws -> ProcessOutput {
        try RunningProcess(executableAt: path, arguments, in: directory, environment: environment).finish().result
    }

    /// Starts an executable without waiting (for kill tests).
    public static func start(_ executable: String, _ arguments: [String], in directory: String? = nil) throws -> Process {
        try start(executableAt: Self.executable(executable), arguments, in: directory)
    }

    /// Starts any executable, by absolute path, without waiting; its output is discarded.
    public static func start(executableAt path: String, _ arguments: [String], in directory: String? = nil) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
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

/// A started process whose stdout and stderr go to files, read after it ends (no pipe to fill up
/// and block the child).
public final class RunningProcess {
    public let process: Process
    public let started = Date()
    private let outPath: String
    private let errPath: String
    private let scratch: String

    /// `mergeOutput`: stderr goes to the same file as stdout (`finish().result.stdout` holds both).
    public init(executableAt path: String, _ arguments: [String], in directory: String? = nil,
                environment: [String: String] = [:], mergeOutput: Bool = false) throws {
        process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        scratch = try Fixtures.scratchDirectory("run")
        outPath = scratch + "/out"
        errPath = scratch + "/err"
        _ = FileManager.default.createFile(atPath: outPath, contents: nil)
        _ = FileManager.default.createFile(atPath: errPath, contents: nil)
        let out = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
        process.standardOutput = out
        process.standardError = mergeOutput ? out : try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        try process.run()
    }

    /// Waits for the end; returns status, output, and the seconds it ran.
    public func finish() -> (result: ProcessOutput, seconds: Double) {
        process.waitUntilExit()
        let seconds = Date().timeIntervalSince(started)
        let result = ProcessOutput(status: process.terminationStatus,
                                   stdout: (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "",
                                   stderr: (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "",
                                   signalled: process.terminationReason == .uncaughtSignal)
        try? FileManager.default.removeItem(atPath: scratch)
        return (result, seconds)
    }

    /// What the process has written so far (it may still be running).
    public var outputSoFar: (stdout: String, stderr: String) {
        ((try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "", (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "")
    }

    /// kill -9 as soon as `condition` holds (polled every 0.2 ms) while the process runs: kills
    /// placed by what a run has done, which land mid-run on a host of any speed. True when the
    /// kill interrupted it; false when it ended first.
    public func killWhen(_ condition: () -> Bool) -> Bool {
        while process.isRunning {
            if condition() { return killNow() }
            usleep(200)
        }
        return false
    }

    /// kill -9 if still running; true when the kill interrupted it.
    public func killNow() -> Bool {
        guard process.isRunning else { return false }
        kill(process.processIdentifier, SIGKILL)
        return true
    }
}

/// What a finished process left: exit status, stdout, stderr (named apart from the trainer's `RunResult`).
public struct ProcessOutput: Sendable, CustomStringConvertible {
    /// The exit status, or the signal's number when `signalled`.
    public let status: Int32
    public let stdout: String
    public let stderr: String
    /// Ended by a signal (a crash, a kill), not by exit: a status of 1 then is SIGHUP, not exit 1.
    public let signalled: Bool
    public var description: String { "\(signalled ? "killed by signal" : "exit") \(status)\n--- stdout\n\(stdout)\n--- stderr\n\(stderr)" }

    public init(status: Int32, stdout: String, stderr: String, signalled: Bool = false) {
        self.status = status
        self.stdout = stdout
        self.stderr = stderr
        self.signalled = signalled
    }
}

public struct FixtureError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// A string-keyed cache shared by the tests of one process (XCTest may run them on any thread).
final class LockedCache: @unchecked Sendable {
    private let lock = NSLock()
    private var values: [String: String] = [:]
    func value(_ key: String) -> String? { lock.withLock { values[key] } }
    func set(_ key: String, _ value: String) { lock.withLock { values[key] = value } }
}
