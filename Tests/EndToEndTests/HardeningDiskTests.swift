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

    /// Exit `status` (an exit, not a signal: a crash at exit used to pass as "non-zero"), one
    /// non-empty stderr line starting with "error:" and naming `reason`; no library output.
    private func assertOneClearError(_ result: ProcessOutput, status: Int32, mentioning reason: String, _ context: String,
                                     file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertFalse(result.signalled, "\(context): killed by a signal\n\(result)", file: file, line: line)
        XCTAssertEqual(result.status, status, "\(context): exit status (docs/FAULTS.md)\n\(result)", file: file, line: line)
        let lines = result.stderr.split(separator: "\n").filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
        XCTAssertEqual(lines.count, 1, "\(context): expected one error line\n\(result)", file: file, line: line)
        XCTAssertTrue(lines.first?.hasPrefix("error: ") ?? false, "\(context)\n\(result)", file: file, line: line)
        XCTAssertTrue(result.stderr.contains(reason), "\(context): the message does not say why (\(reason))\n\(result)", file: file, line: line)
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
            assertOneClearError(ingest, status: 2, mentioning: "File too large", "ingest --jobs \(jobs) under ulimit -f 16")
            bytes += try assertUntouched(good, "after ingest --jobs \(jobs) under ulimit -f")
            XCTAssertEqual(partialFiles(), [])
        }
        try prep(["verify"])

        // features, other options (a new feature set): the first shard exceeds 100 KB.
        for jobs in ["1", "2"] {
            let features = try prepInShell("ulimit -f 200", ["features", "--length", "2", "--shard-size", "4", "--num-mel-bins", "64", "--jobs", jobs])
            assertOneClearError(features, status: 1, mentioning: "File too large", "features --jobs \(jobs) under ulimit -f 200")
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

    /// A real ENOSPC: the good cache copied onto a small tmpfs, then the tmpfs filled up. The
    /// tmpfs is mounted here (root with mount rights) or, without mount rights, in a user+mount
    /// namespace where a script does the same steps (`RESPCACHE_TMPFS_VARIANT=mount|user-namespace`
    /// forces one); the test prints which ran.
    func testFullFileSystemFailsClearlyAndLeavesTheGoodCacheValid() throws {
        let (dataset, _) = try goodCacheWithPendingChange()
        let used = try Fixtures.fileBytes(under: cache).values.reduce(0) { $0 + $1.count }
        let mountPoint = workspace + "/small-cache"
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
        let size = (used + 4 << 20) / 4096 * 4096    // room for the recovery run once the filler is gone
        let forced = ProcessInfo.processInfo.environment["RESPCACHE_TMPFS_VARIANT"]
        let mount = forced == "user-namespace" ? (status: Int32(-1), output: "forced") : Self.system(["mount", "-t", "tmpfs", "-o", "size=\(size)", "tmpfs", mountPoint])
        guard mount.status == 0 else {
            guard forced != "mount" else { return XCTFail("RESPCACHE_TMPFS_VARIANT=mount, but: \(mount.output)") }
            return try fullFileSystemInAUserNamespace(dataset: dataset, mountPoint: mountPoint, size: size)
        }
        print("disk faults, full file system: variant mount (a tmpfs mounted by the test)")
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
        assertOneClearError(features, status: 1, mentioning: "No space left on device", "features on a full file system")
        let ingest = try prep(["ingest", dataset, "--jobs", "2"], expectStatus: nil)
        assertOneClearError(ingest, status: 2, mentioning: "No space left on device", "ingest on a full file system")
        let bytes = assertSameFiles(try snapshot([mountPoint, manifests]).filter { !$0.key.hasSuffix("/filler") }, good, "after ENOSPC")
        XCTAssertEqual(partialFiles(), [])
        try prep(["verify"])
        unlink(filler)
        try prep(["ingest", dataset, "--jobs", "2"])
        try prep(["verify"])
        print("disk faults, full tmpfs (ENOSPC): 2 runs failed with one clear message, previous cache untouched, \(bytes) bytes compared; recovery run completed")
    }

    /// The same steps inside `unshare --user --map-root-user --mount` (the tmpfs exists only in
    /// there): every run's status and output, the tmpfs's files after the faulted runs and any
    /// temp file are written to the workspace for the same assertions.
    private func fullFileSystemInAUserNamespace(dataset: String, mountPoint: String, size: Int) throws {
        let unshare = try Fixtures.tool("unshare")
        guard Self.system([unshare, "--user", "--map-root-user", "--mount", "true"]).status == 0 else {
            throw XCTSkip("no mount rights and no user namespaces here: cannot make a full file system; the ulimit -f test covers write errors")
        }
        print("disk faults, full file system: variant user-namespace (a tmpfs in a user+mount namespace; no mount rights here)")
        let onDisk = workspace + "/cache-on-disk", after = workspace + "/cache-after", out = workspace + "/enospc"
        let manifestsAfter = workspace + "/manifests-after"
        try FileManager.default.moveItem(atPath: cache, toPath: onDisk)
        try FileManager.default.createSymbolicLink(atPath: cache, withDestinationPath: mountPoint)
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let good = try snapshot([onDisk, manifests])
        let prepPath = try Fixtures.executable("prep")
        func step(_ name: String, _ arguments: [String]) -> String {
            let command = ([prepPath] + prepArguments(arguments)).map(Self.shellQuoted).joined(separator: " ")
            return "\(command) >'\(out)/\(name).out' 2>'\(out)/\(name).err'; echo $? >'\(out)/\(name).status'"
        }
        let script = [
            "set -u",
            "mount -t tmpfs -o size=\(size) tmpfs '\(mountPoint)' || exit 90",
            "cp -a '\(onDisk)/.' '\(mountPoint)/' || exit 91",
            "dd if=/dev/zero of='\(mountPoint)/filler' bs=4096 count=100000 2>/dev/null",
            step("features", ["features", "--length", "2", "--shard-size", "4", "--num-mel-bins", "64", "--jobs", "2"]),
            step("ingest", ["ingest", dataset, "--jobs", "2"]),
            "mkdir -p '\(after)' '\(manifestsAfter)' && cp -a '\(mountPoint)/.' '\(after)/' && rm -f '\(after)/filler' || exit 92",
            "cp -a '\(manifests)/.' '\(manifestsAfter)/' || exit 93",
            "find '\(mountPoint)' -name '*.partial-*' >'\(out)/partials.txt'",
            step("verify", ["verify"]),
            "rm -f '\(mountPoint)/filler'",
            step("recovery", ["ingest", dataset, "--jobs", "2"]),
            step("verify-after", ["verify"]),
        ].joined(separator: "\n")
        let run = Self.system([unshare, "--user", "--map-root-user", "--mount", "sh", "-c", script])
        XCTAssertEqual(run.status, 0, "the namespace script failed: \(run.output)")
        func result(_ name: String) throws -> ProcessOutput {
            let read = { (suffix: String) in (try? String(contentsOfFile: out + "/" + name + suffix, encoding: .utf8)) ?? "" }
            let status = try XCTUnwrap(Int32(read(".status").trimmingCharacters(in: .whitespacesAndNewlines)), "\(name) did not run")
            // sh reports a signal as 128 + its number.
            return ProcessOutput(status: status > 128 ? status - 128 : status, stdout: read(".out"), stderr: read(".err"), signalled: status > 128)
        }
        assertOneClearError(try result("features"), status: 1, mentioning: "No space left on device", "features on a full file system")
        assertOneClearError(try result("ingest"), status: 2, mentioning: "No space left on device", "ingest on a full file system")
        // The state right after the faulted runs (copied out before the recovery run).
        let afterFiles = try snapshot([after, manifestsAfter]).reduce(into: [String: Data]()) { files, entry in
            let key = entry.key.hasPrefix("/cache-after/") ? "/cache-on-disk/" + entry.key.dropFirst("/cache-after/".count)
                : "/manifests/" + entry.key.dropFirst("/manifests-after/".count)
            files[key] = entry.value
        }
        let bytes = assertSameFiles(afterFiles, good, "after ENOSPC")
        XCTAssertEqual(try String(contentsOfFile: out + "/partials.txt", encoding: .utf8), "", "temp files left on the full file system")
        XCTAssertEqual(partialFiles(), [])
        for name in ["verify", "recovery", "verify-after"] {
            let output = try result(name)
            XCTAssertEqual(output.status, 0, "\(name) in the namespace: \(output)")
        }
        print("disk faults, full tmpfs (ENOSPC, user namespace): 2 runs failed with one clear message, previous cache untouched, \(bytes) bytes compared; recovery run completed")
    }

    /// How the read-only cache is made, best first; `RESPCACHE_READONLY_VARIANT` forces one (to
    /// check each on one machine). Only the mounts give what docs/FAULTS.md quotes (EROFS); the
    /// fallbacks test the same code path with EACCES.
    private enum ReadOnlyVariant: String, CaseIterable {
        /// Root with mount rights: a read-only bind mount of the cache.
        case bindMount = "bind-mount"
        /// No mount rights (root in a container without CAP_SYS_ADMIN, or not root), but user
        /// namespaces: each run in its own user+mount namespace with the cache bind-mounted read-only.
        case userNamespace = "user-namespace"
        /// Not root, no namespaces: `chmod -R a-w`.
        case chmod
        /// Root, no mounts, no namespaces: `prep` run as nobody on the root-owned cache.
        case nobody

        var reason: String { self == .bindMount || self == .userNamespace ? "Read-only file system" : "Permission denied" }
    }

    /// A read-only cache: writing runs fail with one clear message (exit 1), reading runs work.
    func testReadOnlyCacheFailsClearlyAndStaysValid() throws {
        let (dataset, good) = try goodCacheWithPendingChange()
        let forced = ProcessInfo.processInfo.environment["RESPCACHE_READONLY_VARIANT"].map { value in
            ReadOnlyVariant(rawValue: value).map { [$0] } ?? []
        }
        if let forced, forced.isEmpty {
            return XCTFail("RESPCACHE_READONLY_VARIANT must be one of \(ReadOnlyVariant.allCases.map(\.rawValue))")
        }
        var variant: ReadOnlyVariant?
        var restore: () -> Void = {}
        for candidate in forced ?? ReadOnlyVariant.allCases where variant == nil {
            switch candidate {
            case .bindMount:
                guard getuid() == 0, Self.system(["mount", "--bind", cache, cache]).status == 0 else { continue }
                guard Self.system(["mount", "-o", "remount,bind,ro", cache]).status == 0 else {
                    Self.system(["umount", "-l", cache])
                    continue
                }
                restore = { Self.system(["umount", "-l", self.cache]) }
            case .userNamespace:
                guard Self.system(try userNamespacePrefix() + ["true"]).status == 0 else { continue }
            case .chmod:
                guard getuid() != 0 else { continue }
                XCTAssertEqual(Self.system(["chmod", "-R", "a-w", cache]).status, 0)
                restore = { Self.system(["chmod", "-R", "u+w", self.cache]) }
            case .nobody:
                guard getuid() == 0, Self.system(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "true"]).status == 0 else { continue }
            }
            variant = candidate
        }
        guard let variant else {
            return XCTFail("no way to make the cache read-only here (\(forced ?? ReadOnlyVariant.allCases)): `make setup` installs util-linux (mount, unshare, setpriv)")
        }
        defer { restore() }
        print("disk faults, read-only cache: variant \(variant.rawValue), expecting \"\(variant.reason)\"")

        func run(_ arguments: [String]) throws -> ProcessOutput {
            let command = [try Fixtures.executable("prep")] + prepArguments(arguments)
            switch variant {
            case .bindMount, .chmod: return try prep(arguments, expectStatus: nil)
            case .userNamespace:
                return try Running(executableAt: Fixtures.tool("unshare"), Array(try userNamespacePrefix().dropFirst()) + command, in: workspace).finish().result
            case .nobody:
                return try Running(executableAt: Fixtures.tool("setpriv"), ["--reuid=65534", "--regid=65534", "--clear-groups"] + command,
                                   in: workspace).finish().result
            }
        }
        let ingest = try run(["ingest", dataset, "--jobs", "2"])
        assertOneClearError(ingest, status: 1, mentioning: variant.reason, "ingest into a read-only cache (\(variant.rawValue))")
        XCTAssertTrue(ingest.stderr.contains("/.lock: cannot open lock file"), ingest.stderr)
        let features = try run(["features", "--length", "2", "--shard-size", "4", "--num-mel-bins", "64", "--jobs", "2"])
        assertOneClearError(features, status: 1, mentioning: variant.reason, "features into a read-only cache (\(variant.rawValue))")
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
        print("disk faults, read-only cache (\(variant.rawValue)): 2 writing runs failed with one clear message (exit 1, \(variant.reason)), up-to-date features and verify still work, \(bytes) bytes compared")
    }

    /// `unshare` arguments that run a command in a new user+mount namespace where the cache is a
    /// read-only bind mount (a real EROFS without mount rights in this namespace).
    private func userNamespacePrefix() throws -> [String] {
        [try Fixtures.tool("unshare"), "--user", "--map-root-user", "--mount", "sh", "-c",
         #"mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" && exec "$@""#, cache]
    }
}
