import ArgumentParser
import Foundation
import PrepKit

struct StatsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats",
        abstract: "What the manifests hold: cycles per class x split, per device and chest location, cycle lengths, what ingest skipped.",
        discussion: """
        Reads <manifests>/recordings.csv, cycles.csv and ingest-problems.csv, and lists the feature sets \
        in the cache. --json prints the same as one JSON object with stable, sorted keys (format \
        icbhi-manifest-stats/1); every split, class, device and location is present, zero or not.
        """)

    @Option(help: "Directory with recordings.csv and cycles.csv (default: the one the cache's last ingest wrote, else manifests).")
    var manifests: String?

    @Option(help: "Cache directory (its feature sets are listed).")
    var cache = IngestOptions(datasetDirectory: "").cacheDirectory

    @Flag(help: "Print JSON for scripts instead of tables.")
    var json = false

    func run() throws {
        try runReportingErrors {
            let directory = SPRSoundStatistics.manifestDirectory(given: manifests, cacheDirectory: cache)
            if SPRSoundStatistics.applies(to: directory) {
                let statistics = try SPRSoundStatistics.compute(manifestDirectory: directory, cacheDirectory: cache)
                Console().say(json ? statistics.json() : statistics.table())
                return
            }
            let statistics = try ManifestStatistics.compute(manifestDirectory: manifests, cacheDirectory: cache)
            Console().say(json ? statistics.json() : statistics.table())
        }
    }
}
