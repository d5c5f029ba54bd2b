import Foundation
import TestSupport
import XCTest

/// Two or three `prep features` / `prep ingest` started at once on one cache: exactly one does
/// the work; the others refuse clearly or (with --wait) wait and then find nothing to do; the
/// outputs equal a single run's byte for byte and verify.
final class HardeningConcurrencyTests: HardeningTestCase {
    private enum Outcome: String { case worked, refused, nothingToDo = "nothing to do" }

    private func classify(_ result: ProcessOutput, _ context: String) -> Outcome? {
        if result.status == 1, result.stderr.contains("in use by another run") { return .refused }
        if result.status == 0, result.stdout.contains("up to date, nothing to do") { return .nothingToDo }
        if result.status == 0 { return .worked }
        XCTFail("\(context): unexpected outcome\n\(result)")
        return nil
    }

    /// Runs `count` copies of `arguments` at once, `rounds` times (from `reset()` each time).
    private func race(_ arguments: [String], expected: [String: Data], roots: () throws -> [String], reset: () throws -> Void,
                      label: String, verify: Bool) throws -> (rounds: Int, processes: Int, bytes: Int, outcomes: [Outcome: Int]) {
        var outcomes: [Outcome: Int] = [:], bytes = 0, processes = 0
        let plan: [(copies: Int, wait: Bool)] = [(2, false), (2, true), (3, true), (2, false)]
        for (round, step) in plan.enumerated() {
            try reset()
            let extra = step.wait ? ["--wait", "120"] : []
            let runs = try (0..<step.copies).map { _ in try startPrep(arguments + extra) }
            let results = runs.map { $0.finish().result }
            let kinds = results.compactMap { classify($0, "\(label) round \(round)") }
            for kind in kinds { outcomes[kind, default: 0] += 1 }
            processes += results.count
            XCTAssertEqual(kinds.filter { $0 == .worked }.count, 1,
                           "\(label) round \(round): exactly one run must do the work, got \(kinds)\n\(results.map(\.description).joined(separator: "\n"))")
            if step.wait { XCTAssertFalse(kinds.contains(.refused), "\(label) round \(round): --wait must not refuse") }
            bytes += assertSameFiles(try snapshot(roots()), expected, "\(label) round \(round)")
            XCTAssertEqual(partialFiles(), [])
            if verify { try prep(["verify"]) }
        }
        return (plan.count, processes, bytes, outcomes)
    }

    func testConcurrentFeaturesRunsNeverMixAShard() throws {
        try prep(["ingest", try smallDataset(), "--jobs", "2"])
        let arguments = ["features"] + Self.featureOptions
        try prep(arguments)
        let directory = try featureSetDirectory()
        let expected = try snapshot([directory])
        let summary = try race(arguments, expected: expected, roots: { [directory] },
                               reset: { try FileManager.default.removeItem(atPath: directory) }, label: "features", verify: true)
        print("concurrency, prep features: \(summary.processes) processes in \(summary.rounds) rounds of 2-3 at once: \(summary.outcomes.map { "\($0.value) \($0.key.rawValue)" }.sorted().joined(separator: ", ")); outputs equal a single run's, \(summary.bytes) bytes compared")
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
        print("concurrency, prep ingest: \(summary.processes) processes in \(summary.rounds) rounds of 2-3 at once: \(summary.outcomes.map { "\($0.value) \($0.key.rawValue)" }.sorted().joined(separator: ", ")); outputs equal a single run's, \(summary.bytes) bytes compared")
    }
}
