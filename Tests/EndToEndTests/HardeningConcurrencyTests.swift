import Foundation
import TestSupport
import XCTest

/// Two or three `prep features` / `prep ingest` on one cache at the same time: exactly one does
/// the work; the others refuse clearly or (with --wait) wait and then find nothing to do; the
/// outputs equal a single run's byte for byte and verify. The runs are made to overlap, whatever
/// the host's speed, and each round proves they did (a run started after another had finished
/// would also find "nothing to do", and prove nothing about concurrency).
final class HardeningConcurrencyTests: HardeningTestCase {
    private enum Outcome: String { case worked, refused, nothingToDo = "nothing to do" }

    private func classify(_ result: ProcessOutput, _ context: String) -> Outcome? {
        if result.status == 1, result.stderr.contains("in use by another run") { return .refused }
        if result.status == 0, result.stdout.contains("up to date, nothing to do") { return .nothingToDo }
        if result.status == 0 { return .worked }
        XCTFail("\(context): unexpected outcome\n\(result)")
        return nil
    }

    private static let waiting = "waiting for another run holding"

    /// Polls until `condition` holds; fails (and returns false) if `run` ends first.
    private func waitFor(_ run: Running, _ what: String, _ condition: () -> Bool) -> Bool {
        while !condition() {
            guard run.process.isRunning else {
                XCTFail("a run ended before \(what)")
                return false
            }
            usleep(1000)
        }
        return true
    }

    /// Runs `count` copies of `arguments` at once, `rounds` times (from `reset()` each time).
    /// Without --wait: the first copy is started, the others once it holds the cache lock (its
    /// `pid N:` note in .lock), and it is paused until they have ended, so they must meet the
    /// lock. With --wait: the test itself holds the lock, starts every copy, releases it once each
    /// has said it is waiting, and they race for it.
    private func race(_ arguments: [String], expected: [String: Data], roots: () throws -> [String], reset: () throws -> Void,
                      label: String, verify: Bool) throws -> (rounds: Int, processes: Int, bytes: Int, outcomes: [Outcome: Int], overlapped: Int) {
        var outcomes: [Outcome: Int] = [:], bytes = 0, processes = 0, overlapped = 0
        let plan: [(copies: Int, wait: Bool)] = [(2, false), (2, true), (3, true), (2, false)]
        let lockPath = cache + "/.lock"
        for (round, step) in plan.enumerated() {
            try reset()
            try FileManager.default.createDirectory(atPath: cache, withIntermediateDirectories: true)
            var runs: [Running] = []
            var early: [ProcessOutput] = []   // copies that ended while the first was held
            if step.wait {
                let descriptor = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
                XCTAssertGreaterThanOrEqual(descriptor, 0)
                XCTAssertEqual(flock(descriptor, LOCK_EX), 0)
                runs = try (0..<step.copies).map { _ in try startPrep(arguments + ["--wait", "120"]) }
                for run in runs { _ = waitFor(run, "saying it waits") { run.outputSoFar.stderr.contains(Self.waiting) } }
                close(descriptor)   // releases the lock: the waiting copies race for it
            } else {
                let first = try startPrep(arguments)
                runs = [first]
                if waitFor(first, "taking the cache lock", { ((try? String(contentsOfFile: lockPath, encoding: .utf8)) ?? "").hasPrefix("pid \(first.process.processIdentifier):") }) {
                    // Held (SIGSTOP) with the lock until the others have ended: on a busy host a
                    // copy may start only once the first has published everything and then find
                    // "nothing to do" without ever meeting the lock (seen here at load 14).
                    let pid = first.process.processIdentifier
                    kill(pid, SIGSTOP)
                    defer { kill(pid, SIGCONT) }
                    early = try (1..<step.copies).map { _ in try startPrep(arguments) }.map { $0.finish().result }
                }
            }
            let results = early + runs.map { $0.finish().result }
            let kinds = results.compactMap { classify($0, "\(label) round \(round)") }
            for kind in kinds { outcomes[kind, default: 0] += 1 }
            processes += results.count
            XCTAssertEqual(kinds.filter { $0 == .worked }.count, 1,
                           "\(label) round \(round): exactly one run must do the work, got \(kinds)\n\(results.map(\.description).joined(separator: "\n"))")
            // Overlap, proven by each run's own words: with --wait every copy waited on the lock at
            // the same time; without, every copy but the worker met it held and refused.
            let met = results.filter { $0.stderr.contains("in use by another run") || $0.stderr.contains(Self.waiting) }
            XCTAssertEqual(met.count, step.wait ? step.copies : step.copies - 1, "\(label) round \(round): the runs did not overlap\n\(results.map(\.description).joined(separator: "\n"))")
            overlapped += met.count
            if step.wait { XCTAssertFalse(kinds.contains(.refused), "\(label) round \(round): --wait must not refuse") }
            bytes += assertSameFiles(try snapshot(roots()), expected, "\(label) round \(round)")
            XCTAssertEqual(partialFiles(), [])
            if verify { try prep(["verify"]) }
        }
        return (plan.count, processes, bytes, outcomes, overlapped)
    }

    func testConcurrentFeaturesRunsNeverMixAShard() throws {
        try prep(["ingest", try smallDataset(), "--jobs", "2"])
        let arguments = ["features"] + Self.featureOptions
        try prep(arguments)
        let directory = try featureSetDirectory()
        let expected = try snapshot([directory])
        let summary = try race(arguments, expected: expected, roots: { [directory] },
                               reset: { try FileManager.default.removeItem(atPath: directory) }, label: "features", verify: true)
        print("concurrency, prep features: \(summary.processes) processes in \(summary.rounds) rounds of 2-3 at once: \(summary.outcomes.map { "\($0.value) \($0.key.rawValue)" }.sorted().joined(separator: ", ")); \(summary.overlapped) met another run's lock; outputs equal a single run's, \(summary.bytes) bytes compared")
    }

    func testConcurrentIngestRunsNeverMixAnOutput() throws {
        let dataset = try smallDataset()
        let arguments = ["ingest", dataset, "--jobs", "2"]
        try prep(arguments)
        let expected = try snapshot([cache, manifests])
        let summary = try race(arguments, expected: expected, roots: { [cache, manifests] }, reset: {
            try FileManager.default.removeItem(atPath: cache)
            try FileManager.default.removeItem(atPath: manifests)
        }, label: "ingest", verify: false)
        print("concurrency, prep ingest: \(summary.processes) processes in \(summary.rounds) rounds of 2-3 at once: \(summary.outcomes.map { "\($0.value) \($0.key.rawValue)" }.sorted().joined(separator: ", ")); \(summary.overlapped) met another run's lock; outputs equal a single run's, \(summary.bytes) bytes compared")
    }
}
