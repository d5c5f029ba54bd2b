import Durability
import Foundation
import TestSupport
import XCTest

/// Reruns, determinism across --jobs, verification and crash safety of the real binaries.
final class CacheBehaviourTests: PrepTestCase {
    private let stems = ["104_1b1_Al_sc_Litt3200", "104_1b1_Ar_sc_Litt3200", "104_1b1_Lr_sc_Litt3200", "103_2b2_Ar_mc_LittC2SE"]

    private func smallDataset() throws -> String {
        try copiedDataset(from: Fixtures.sampleDirectory, files: stems.flatMap { [$0 + ".wav", $0 + ".txt"] })
    }

    private func shardBytes() throws -> [String: Data] {
        try Fixtures.fileBytes(under: featureSetDirectory(), matching: ".h5")
    }

    /// Acceptance (ingest: --jobs; features 3): outputs are bit-identical for any --jobs.
    func testOutputsAreBitIdenticalForAnyJobs() throws {
        let dataset = try smallDataset()
        try prep(["ingest", dataset, "--jobs", "1"])
        try prep(["features", "--jobs", "1", "--shard-size", "7"])
        let audio1 = try Fixtures.fileBytes(under: cache + "/audio16k")
        let manifest1 = try Fixtures.fileBytes(under: manifests)
        let shards1 = try shardBytes()

        try FileManager.default.removeItem(atPath: cache)
        try FileManager.default.removeItem(atPath: manifests)
        try prep(["ingest", dataset, "--jobs", "2"])
        try prep(["features", "--jobs", "2", "--shard-size", "7"])
        XCTAssertEqual(try Fixtures.fileBytes(under: cache + "/audio16k"), audio1)
        XCTAssertEqual(try Fixtures.fileBytes(under: manifests), manifest1)
        let shards2 = try shardBytes()
        XCTAssertEqual(shards2, shards1)
        XCTAssertGreaterThan(shards1.count, 2)
        print("bit-identical across --jobs 1/2: \(shards1.count) shards, \(shards1.values.reduce(0) { $0 + $1.count }) bytes compared")
    }

    /// Acceptance (ingest): a rerun with unchanged inputs does no work and says so; a changed
    /// recording is redone alone.
    func testRerunIsIncremental() throws {
        let dataset = try smallDataset()
        try prep(["ingest", dataset])
        let again = try prep(["ingest", dataset])
        XCTAssertTrue(again.stdout.contains("up to date, nothing to do"), again.stdout)

        let changed = dataset + "/" + stems[0] + ".txt"
        try (try String(contentsOfFile: changed, encoding: .utf8) + "0.1\t0.9\t1\t1\n").write(toFile: changed, atomically: true, encoding: .utf8)
        let third = try prep(["ingest", dataset])
        XCTAssertTrue(third.stdout.contains("(1 processed, 3 unchanged)"), third.stdout)

        try prep(["features"])
        // Nothing to do means no work: not one file of the cache written, renamed or replaced (the
        // old check, "under 1 s", said how fast a host is; speed belongs to `make bench`).
        let before = try cacheFileStates()
        let features = try prep(["features"])
        XCTAssertTrue(features.stdout.contains("up to date, nothing to do"), features.stdout)
        XCTAssertEqual(try cacheFileStates(), before, "an up-to-date `prep features` changed the cache")
    }

    /// Every file under the cache and manifests: inode, size, modification time (ns) and bytes.
    private func cacheFileStates() throws -> [String: String] {
        var states: [String: String] = [:]
        for root in [cache, manifests] {
            for (relative, data) in try Fixtures.fileBytes(under: root) where !relative.hasSuffix(".lock") {
                var info = stat()
                XCTAssertEqual(stat(root + "/" + relative, &info), 0, relative)
                states[root + "/" + relative] = "inode \(info.st_ino) size \(info.st_size) mtime \(info.st_mtim.tv_sec).\(info.st_mtim.tv_nsec) sha256 \(FileDigest.sha256(of: data))"
            }
        }
        return states
    }

    /// Acceptance (features): changed options make a new feature set beside the old one.
    func testChangedOptionsMakeANewFeatureSet() throws {
        try prep(["ingest", try smallDataset()])
        try prep(["features"])
        try prep(["features", "--num-mel-bins", "64", "--norm", "none"])
        let sets = try FileManager.default.contentsOfDirectory(atPath: cache).filter { $0.hasPrefix("icbhi-") }.sorted()
        XCTAssertEqual(sets.count, 2, "\(sets)")
        XCTAssertTrue(sets.contains { $0.contains("fbank64") && $0.contains("norm-none") }, "\(sets)")
        // Naming a different feature set like an existing one is refused, not overwritten.
        let clash = try prep(["features", "--name", sets[0], "--num-mel-bins", "40"], expectStatus: 2)
        XCTAssertTrue(clash.stderr.contains("holds a different feature set"), clash.stderr)
    }

    /// Acceptance (features 3): verify passes on good shards and fails on a flipped byte, a
    /// truncated shard, a missing shard and a stray shard.
    func testVerifyCatchesCorruption() throws {
        try prep(["ingest", try smallDataset()])
        try prep(["features", "--shard-size", "10"])
        let directory = try featureSetDirectory()
        try prep(["verify"])
        let shard = directory + "/test-00000.h5"
        let original = try Data(contentsOf: URL(fileURLWithPath: shard))

        var flipped = original
        flipped[flipped.count / 2] ^= 0x01
        try flipped.write(to: URL(fileURLWithPath: shard))
        var result = try prep(["verify"], expectStatus: 1)
        XCTAssertTrue(result.stderr.contains("test-00000.h5: XXH64"), result.stderr)

        try original.prefix(original.count - 4096).write(to: URL(fileURLWithPath: shard))
        result = try prep(["verify"], expectStatus: 1)
        XCTAssertTrue(result.stderr.contains("test-00000.h5: size"), result.stderr)

        try FileManager.default.removeItem(atPath: shard)
        result = try prep(["verify"], expectStatus: 1)
        XCTAssertTrue(result.stderr.contains("test-00000.h5: missing"), result.stderr)

        try original.write(to: URL(fileURLWithPath: shard))
        try prep(["verify"])
        try original.write(to: URL(fileURLWithPath: directory + "/test-00099.h5"))
        result = try prep(["verify"], expectStatus: 1)
        XCTAssertTrue(result.stderr.contains("not in the index"), result.stderr)
    }

    /// Acceptance (features 4, ingest): kill -9 in the middle of a run, then a rerun, gives the
    /// same outputs as an uninterrupted run, and no temp file survives.
    func testKillDuringFeaturesThenRerunGivesIdenticalShards() throws {
        try prep(["ingest", try smallDataset()])
        try prep(["features", "--shard-size", "5", "--jobs", "1"])
        let reference = try shardBytes()
        let directory = try featureSetDirectory()
        try FileManager.default.removeItem(atPath: directory)

        // Kill points by progress: once 0, 1, 2, ... shards are published (never the last one, so
        // each kill lands mid-run on any host; a kill at a fraction of a measured time does not).
        var killedMidway = 0
        let points = Array(0..<(reference.count - 1))
        for published in points {
            let run = try RunningProcess(executableAt: Fixtures.executable("prep"),
                                         ["features", "--shard-size", "5", "--jobs", "1", "--cache", cache], in: workspace)
            if run.killWhen({ shardCount(directory) >= published }) { killedMidway += 1 }
            _ = run.finish()
        }
        try prep(["features", "--shard-size", "5", "--jobs", "1"])
        XCTAssertEqual(try shardBytes(), reference)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.contains(".partial-") }
        XCTAssertEqual(leftovers, [])
        try prep(["verify"])
        print("kill -9 during features: \(killedMidway) of \(points.count) kills landed mid-run (after 0-\(points.last ?? 0) of \(reference.count) shards) and were survived, \(reference.count) shards identical")
        XCTAssertEqual(killedMidway, points.count, "a run finished before its kill")
    }

    /// Published shards (not temp files) in a feature set directory.
    private func shardCount(_ directory: String) -> Int {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.hasSuffix(".h5") && !$0.contains(".partial-") }.count
    }

    /// Two runs at once on one cache: the second refuses clearly (or waits with --wait).
    func testConcurrentRunIsRefused() throws {
        try prep(["ingest", try smallDataset()])
        let lockFile = cache + "/.lock"
        // The first run writes "pid N: ..." into the lock file once it holds the lock; the second
        // starts only then. A fast first run may finish before that is seen: then try again
        // with another feature set (a finished one would be up to date at once).
        for attempt in 1...5 {
            let first = try Fixtures.start("prep", ["features", "--cache", cache, "--jobs", "1", "--name", "attempt\(attempt)"], in: workspace)
            var holding = false
            while first.isRunning && !holding {
                holding = ((try? String(contentsOfFile: lockFile, encoding: .utf8)) ?? "").hasPrefix("pid \(first.processIdentifier):")
                if !holding { usleep(200) }
            }
            guard holding, first.isRunning else {
                first.waitUntilExit()
                continue
            }
            let second = try prep(["features", "--jobs", "1", "--name", "attempt\(attempt)"], expectStatus: nil)
            first.waitUntilExit()
            XCTAssertEqual(second.status, 1, second.description)
            XCTAssertTrue(second.stderr.contains("in use by another run"), second.stderr)
            XCTAssertEqual(first.terminationStatus, 0)
            return
        }
        XCTFail("in 5 attempts the first run never held the lock while still running")
    }
}
