import Foundation
import TestSupport
import XCTest

/// Disk full and write errors: with a file-size limit (`ulimit -f`), a full file system (a
/// small tmpfs, where mounting is allowed) or a read-only cache, runs fail with one clear
/// message and a non-zero status, and the previous good cache stays byte-identical and valid
/// under `prep verify`; a later run without the fault completes.
final class HardeningDiskTests: HardeningTestCase {
    /// A good cache (ingest + features) and one changed annotation, so that the next ingest
    /// has a recording to rewrite. Returns the snapshot of the good cache and manifests.
    private func goodCacheWithPendingChange() throws -> (dataset: String, snapshot: [String: Data]) {
        let dataset = try smallDataset()
        try prep(["ingest", dataset, "--jobs", "2"])
        try prep(["features"] + Self.featureOptions)
        try prep(["verify"])
        let good = try snapshot([cache, manifests])
        let changed = dataset + "/" + Self.stems[1] + ".txt"
        let text = try String(contentsOfFile: changed, encoding: .utf8)
        try (text + "0.1\t0.9\t1\t1\n").write(toFile: changed, atomically: true, encoding: .utf8)
        return (dataset, good)
    }

    /// One non-empty stderr line, starting with "error:", naming `reason`; no library output.
    private func assertOneClearError(_ result: ProcessOutput, mentioning reasons: [String], _ context: String,
                                     file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertNotEqual(result.status, 0, "\(context): succeeded under the fault\n\(result)", file: file, line: line)
        let lines = result.stderr.split(separator: "\n").filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
        XCTAssertEqual(lines.count, 1, "\(context): expected one error line\n\(result)", file: file, line: line)
        XCTAssertTrue(lines.first?.hasPrefix("error: ") ?? false, "\(context)\n\(result)", file: file, line: line)
        XCTAssertTrue(reasons.contains { result.stderr.contains($0) }, "\(context): the message does not say why (\(reasons))\n\(result)", file: file, line: line)
        XCTAssertEqual(Self.libraryDiagnostics(in: result.stderr), [], "\(context)", file: file, line: line)
    }

    /// The good cache's files are all still there, byte for byte; returns the bytes compared.
    private func assertUntouched(_ good: [String: Data], _ context: String, file: StaticString = #filePath, line: UInt = #line) throws -> Int {
        assertSameFiles(try snapshot([cache, manifests]), good, context, file: file, line: line)
    }

    func testFileSizeLimitFailsClearlyAndLeavesTheGoodCacheValid() throws {
        let (dataset, good) = try goodCacheWithPendingChange()
        var bytes = 0

        // ingest: the changed recording's cycle audio (~1.6 MB) exceeds 8 KB; manifests must stay.
        for jobs in ["1", "2"] {
            let ingest = try prepInShell("ulimit -f 16", ["ingest", dataset, "--jobs", jobs])
            assertOneClearError(ingest, mentioning: ["File too large"], "ingest --jobs \(jobs) under ulimit -f 16")
            bytes += try assertUntouched(good, "after ingest --jobs \(jobs) under ulimit -f")
            XCTAssertEqual(partialFiles(), [])
        }
        try prep(["verify"])

        // features, other options (a new feature set): the first shard exceeds 100 KB.
        for jobs in ["1", "2"] {
            let features = try prepInShell("ulimit -f 200", ["features", "--length", "2", "--shard-size", "4", "--num-mel-bins", "64", "--jobs", jobs])
            assertOneClearError(features, mentioning: ["File too large"], "features --jobs \(jobs) under ulimit -f 200")
            bytes += try assertUntouched(good, "after features under ulimit -f")
            XCTAssertEqual(partialFiles(), [])
        }
        let sets = try FileManager.default.contentsOfDirectory(atPath: cache).filter { $0.contains("fbank64") }
        for set in sets { XCTAssertFalse(FileManager.default.fileExists(atPath: cache + "/" + set + "/index.json")) }
        try prep(["verify"])

        // Without the limit the pending change goes through and everything verifies.
        let recovered = try prep(["ingest", dataset, "--jobs", "2"])
        XCTAssertTrue(recovered.stdout.contains("1 processed"), recovered.stdout)
        try prep(["features"] + Self.featureOptions)
        try prep(["verify"])
        print("disk faults, ulimit -f: 4 runs failed with one clear message (EFBIG), previous cache untouched, \(bytes) bytes compared; recovery run completed")
    }

    /// A real ENOSPC: the good cache copied onto a small tmpfs, then the tmpfs filled up.
    func testFullFileSystemFailsClearlyAndLeavesTheGoodCacheValid() throws {
        let (dataset, _) = try goodCacheWithPendingChange()
        let used = try Fixtures.fileBytes(under: cache).values.reduce(0) { $0 + $1.count }
        let mountPoint = workspace + "/small-cache"
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
        let size = (used + 4 << 20) / 4096 * 4096    // room for the recovery run once the filler is gone
        let mount = Self.system(["mount", "-t", "tmpfs", "-o", "size=\(size)", "tmpfs", mountPoint])
        guard mount.status == 0 else {
            throw XCTSkip("cannot mount a tmpfs here (\(mount.output.trimmingCharacters(in: .whitespacesAndNewlines))); the ulimit -f test covers write errors")
        }
        defer { Self.system(["umount", "-l", mountPoint]) }
        XCTAssertEqual(Self.system(["cp", "-a", cache + "/.", mountPoint + "/"]).status, 0)
        let original = cache
        try FileManager.default.moveItem(atPath: original, toPath: workspace + "/cache-on-disk")
        try FileManager.default.createSymbolicLink(atPath: original, withDestinationPath: mountPoint)
        let good = try snapshot([mountPoint, manifests])

        // Fill the file system to a few KB, then ask for a new feature set and a changed recording.
        let filler = mountPoint + "/filler"
        _ = Self.system(["dd", "if=/dev/zero", "of=\(filler)", "bs=4096", "count=100000"])
        defer { unlink(filler) }
        let features = try prep(["features", "--length", "2", "--shard-size", "4", "--num-mel-bins", "64", "--jobs", "2"], expectStatus: nil)
        assertOneClearError(features, mentioning: ["No space left on device"], "features on a full file system")
        let ingest = try prep(["ingest", dataset, "--jobs", "2"], expectStatus: nil)
        assertOneClearError(ingest, mentioning: ["No space left on device"], "ingest on a full file system")
        let bytes = assertSameFiles(try snapshot([mountPoint, manifests]).filter { !$0.key.hasSuffix("/filler") }, good, "after ENOSPC")
        XCTAssertEqual(partialFiles(), [])
        try prep(["verify"])
        unlink(filler)
        try prep(["ingest", dataset, "--jobs", "2"])
        try prep(["verify"])
        print("disk faults, full tmpfs (ENOSPC): 2 runs failed with one clear message, previous cache untouched, \(bytes) bytes compared; recovery run completed")
    }

    /// A read-only cache: a read-only bind mount (root with CAP_SYS_ADMIN), else `chmod -R a-w`
    /// (not root), else runs as `nobody` via setpriv (root without mount rights).
    func testReadOnlyCacheFailsClearlyAndStaysValid() throws {
        let (dataset, good) = try goodCacheWithPendingChange()
        var mechanism = ""
        var runAs: [String] = []
        var restore: () -> Void = {}
        if getuid() != 0 {
            XCTAssertEqual(Self.system(["chmod", "-R", "a-w", cache]).status, 0)
            mechanism = "chmod -R a-w (not root)"
            restore = { Self.system(["chmod", "-R", "u+w", self.cache]) }
        } else if Self.system(["mount", "--bind", cache, cache]).status == 0 {
            if Self.system(["mount", "-o", "remount,bind,ro", cache]).status == 0 {
                mechanism = "read-only bind mount"
                restore = { Self.system(["umount", "-l", self.cache]) }
            } else {
                Self.system(["umount", "-l", cache])
            }
        }
        if mechanism.isEmpty {
            guard Self.system(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "true"]).status == 0 else {
                throw XCTSkip("root without mount rights and without setpriv: no way to make the cache read-only")
            }
            mechanism = "prep run as nobody (setpriv) on a root-owned cache"
            runAs = ["setpriv --reuid=65534 --regid=65534 --clear-groups"]
        }
        defer { restore() }

        func run(_ arguments: [String]) throws -> ProcessOutput {
            if runAs.isEmpty { return try prep(arguments, expectStatus: nil) }
            // As nobody: exec prep through setpriv.
            let binary = try Fixtures.executable("prep")
            let command = runAs[0] + " " + ([binary] + prepArguments(arguments)).map(Self.shellQuoted).joined(separator: " ")
            return try Running(executableAt: "/bin/sh", ["-c", command], in: workspace).finish().result
        }
        let reasons = ["Read-only file system", "Permission denied"]
        let ingest = try run(["ingest", dataset, "--jobs", "2"])
        assertOneClearError(ingest, mentioning: reasons, "ingest into a read-only cache (\(mechanism))")
        let features = try run(["features", "--length", "2", "--shard-size", "4", "--num-mel-bins", "64", "--jobs", "2"])
        assertOneClearError(features, mentioning: reasons, "features into a read-only cache (\(mechanism))")
        // Reading still works: an up-to-date feature set needs no write, and verify only reads.
        let upToDate = try run(["features"] + Self.featureOptions)
        XCTAssertEqual(upToDate.status, 0, upToDate.description)
        XCTAssertTrue(upToDate.stdout.contains("up to date"), upToDate.stdout)
        let verify = try run(["verify"])
        XCTAssertEqual(verify.status, 0, verify.description)
        restore()
        restore = {}
        let bytes = try assertUntouched(good, "after runs on a read-only cache")
        XCTAssertEqual(partialFiles(), [])
        try prep(["verify"])
        print("disk faults, read-only cache (\(mechanism)): 2 writing runs failed with one clear message, up-to-date features and verify still work, \(bytes) bytes compared")
    }
}
