import Durability
import Foundation
import TestSupport
import XCTest

/// Shared machinery of the hardening tests: small datasets, snapshots of every output file,
/// seeded kill schedules, processes started with captured output, fault environments.
class HardeningTestCase: PrepTestCase {
    /// Four short real recordings (three at 4 kHz, one at 44.1 kHz): 31 cycles, train and test.
    static let stems = ["104_1b1_Al_sc_Litt3200", "104_1b1_Ar_sc_Litt3200", "104_1b1_Lr_sc_Litt3200", "103_2b2_Ar_mc_LittC2SE"]

    /// Features options that keep every run short in a debug build (2 s cycles, many small shards).
    static let featureOptions = ["--length", "2", "--shard-size", "4", "--jobs", "2"]

    func smallDataset() throws -> String {
        try copiedDataset(from: Fixtures.sampleDirectory, files: Self.stems.flatMap { [$0 + ".wav", $0 + ".txt"] })
    }

    // MARK: Snapshots

    /// Every output file of the cache and the manifests, by path relative to the workspace.
    /// `index.json` is compared without `created_at` (the only field that differs between runs).
    func snapshot(_ roots: [String]) throws -> [String: Data] {
        var result: [String: Data] = [:]
        for root in roots where FileManager.default.fileExists(atPath: root) {
            for (relative, data) in try Fixtures.fileBytes(under: root) where !relative.hasSuffix(".lock") {
                let key = String(root.dropFirst(workspace.count)) + "/" + relative
                result[key] = relative.hasSuffix("index.json") ? try Self.withoutCreationTime(data) : data
            }
        }
        return result
    }

    static func withoutCreationTime(_ data: Data) throws -> Data {
        guard var object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw FixtureError("index.json is not a JSON object")
        }
        object["created_at"] = nil
        return try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
    }

    /// Compares two snapshots file by file; returns the bytes compared.
    @discardableResult
    func assertSameFiles(_ actual: [String: Data], _ expected: [String: Data], _ context: String,
                         file: StaticString = #filePath, line: UInt = #line) -> Int {
        XCTAssertEqual(actual.keys.sorted(), expected.keys.sorted(), "\(context): different files", file: file, line: line)
        var bytes = 0
        for (path, data) in expected.sorted(by: { $0.key < $1.key }) {
            guard let other = actual[path] else { continue }
            if other != data {
                XCTFail("\(context): \(path) differs (\(other.count) vs \(data.count) bytes, SHA-256 \(Self.sha256(other).prefix(12)) vs \(Self.sha256(data).prefix(12)))",
                        file: file, line: line)
            }
            bytes += data.count
        }
        return bytes
    }

    static func sha256(_ data: Data) -> String {
        FileDigest.sha256(of: data)
    }

    /// Temp files (`.<name>.partial-<pid>`) anywhere under the workspace's cache and manifests.
    func partialFiles() -> [String] {
        [cache, manifests].map { URL(fileURLWithPath: $0).resolvingSymlinksInPath().path }.flatMap { root in
            (FileManager.default.enumerator(atPath: root)?.allObjects as? [String] ?? [])
                .filter { ($0 as NSString).lastPathComponent.contains(".partial-") }
                .map { root + "/" + $0 }
        }
    }

    // MARK: Processes

    /// Full `prep` arguments as `prep(_:)` builds them.
    func prepArguments(_ arguments: [String]) -> [String] {
        var full = arguments + ["--cache", cache]
        if arguments.first == "ingest" {
            full += ["--manifests", manifests, "--metadata", Fixtures.metadataDirectory]
        } else if arguments.first == "features" {
            full += ["--manifests", manifests]
        }
        return full
    }

    /// A started process with captured output (TestSupport's `RunningProcess`).
    typealias Running = RunningProcess

    func startPrep(_ arguments: [String]) throws -> Running {
        try Running(executableAt: Fixtures.executable("prep"), prepArguments(arguments), in: workspace)
    }

    /// `prep` through `/bin/sh -c "<setup>; exec prep ..."` (file-size limits and the like).
    func prepInShell(_ setup: String, _ arguments: [String]) throws -> ProcessOutput {
        let binary = try Fixtures.executable("prep")
        let command = setup + "; exec " + ([binary] + prepArguments(arguments)).map(Self.shellQuoted).joined(separator: " ")
        return try Running(executableAt: Fixtures.tool("sh"), ["-c", command], in: workspace).finish().result
    }

    static func shellQuoted(_ text: String) -> String { "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'" }

    /// Runs a command line (test plumbing: mount, chattr); returns its status and output.
    @discardableResult
    static func system(_ arguments: [String]) -> (status: Int32, output: String) { Fixtures.system(arguments) }

    // MARK: Kill schedules
    //
    // Kills are placed by what the run has done (files it has published), never by fractions of
    // a measured duration: on a slow or busy host a timed kill lands after the run has ended and
    // tests nothing, while "kill once n outputs exist" lands mid-run on any host.

    /// Output files published under `roots` (no `.partial-` temp file, no lock), relative paths.
    func publishedFiles(under roots: [String]) -> Set<String> {
        var result = Set<String>()
        for root in roots {
            for relative in FileManager.default.enumerator(atPath: root)?.allObjects as? [String] ?? [] {
                let name = (relative as NSString).lastPathComponent
                guard !name.contains(".partial-"), !name.hasSuffix(".lock") else { continue }
                var isDirectory: ObjCBool = false
                if FileManager.default.fileExists(atPath: root + "/" + relative, isDirectory: &isDirectory), !isDirectory.boolValue {
                    result.insert(root + "/" + relative)
                }
            }
        }
        return result
    }

    /// `count` kill targets "once n outputs are published", n in 0 ..< `outputs` - 1 (so at least
    /// two outputs are still to come when the kill lands: the run is still going, whatever the
    /// host's speed): one seeded point in each of `count` equal slices of that range.
    static func killTargets(count: Int, outputs: Int, seed: UInt64) -> [Int] {
        var state = seed
        func next() -> Double {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Double(state >> 11) / Double(1 << 53)
        }
        let span = Double(max(outputs - 1, 1))
        return (0..<count).map { k in min(Int(span * (Double(k) + next()) / Double(count)), max(outputs - 2, 0)) }
    }

    /// stderr lines that are library diagnostics rather than this project's messages.
    static func libraryDiagnostics(in stderr: String) -> [Substring] {
        stderr.split(separator: "\n").filter {
            $0.contains("HDF5-DIAG") || $0.hasPrefix("  #0") || $0.contains("major: ") || $0.contains("minor: ")
                || $0.lowercased().contains("libsndfile") || $0.contains("Signal ") || $0.contains("Backtrac")
        }
    }
}
