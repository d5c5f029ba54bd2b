import ArgumentParser
import Foundation
import PrepKit

struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Re-check feature shards against their index (rows, shapes, XXH64 checksums, NaN/Inf) and the cache's manifests and cycle audio against ingest.json; non-zero exit on any mismatch.")

    @Argument(help: "Feature set: a directory, a name under the cache, or a directory holding exactly one (default: every feature set in the cache).")
    var featureSet: String?

    @Option(help: "Cache directory.")
    var cache = IngestOptions(datasetDirectory: "").cacheDirectory

    func run() throws {
        try runReportingErrors(verify)
    }

    private func verify() throws {
        let console = Console()
        let directories: [String]
        if let featureSet {
            directories = [try ShowCycle.resolveFeatureSet(featureSet, cacheDirectory: cache)]
        } else {
            directories = FeatureSetVerifier.featureSets(in: cache)
            guard !directories.isEmpty else {
                console.warn("error: no feature set (directory with index.json) in \(cache)")
                throw ExitCode(2)
            }
        }
        var failed = 0
        for directory in directories {
            let findings = FeatureSetVerifier.verify(directory: directory, console: console)
            if findings.isEmpty {
                console.say("ok: \(directory)")
            } else {
                failed += 1
                console.warn("FAILED: \(directory)")
                for finding in findings { console.warn("  \(finding)") }
            }
        }
        // The ingest the feature sets were computed from: manifests and cycle audio.
        if let ingest = FeatureSetVerifier.verifyIngest(cacheDirectory: cache) {
            if ingest.uncheckedAudio > 0 {
                console.say("notice: \(ingest.uncheckedAudio) cycle-audio file\(ingest.uncheckedAudio == 1 ? "" : "s") in \(cache) predate\(ingest.uncheckedAudio == 1 ? "s" : "") sample checksums: their samples cannot be checked (rerun `prep ingest` to record them)")
            }
            if ingest.findings.isEmpty {
                console.say("ok: \(cache) ingest (\(ingest.recordings) recordings, \(ingest.cycles) cycles: manifests match ingest.json, cycle audio as described)")
            } else {
                failed += 1
                console.warn("FAILED: \(cache) ingest (manifests and cycle audio)")
                for finding in ingest.findings { console.warn("  \(finding)") }
            }
        }
        if failed > 0 { throw ExitCode(1) }
    }
}
