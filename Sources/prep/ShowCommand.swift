import ArgumentParser
import Foundation
import PrepKit

struct ShowCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Draw one cycle's stored fbank as a PNG (mel bins up, time right, viridis, axes in s and Hz).",
        discussion: """
        Reads the row from the feature shards, exactly as training sees it (normalised). Name the cycle \
        by id (<recording stem>#<k>, as in cycles.csv) or give a shard file and row. A dashed line marks \
        where a short cycle's padding begins.
          prep show 101_1b1_Al_sc_Meditron#0 --png cycle.png
          prep show --shard cache/<feature-set>/train-00000.h5 --row 12 --png row12.png
        """)

    @Argument(help: "Cycle id, e.g. 101_1b1_Al_sc_Meditron#0 (omit with --shard).")
    var cycleID: String?

    @Option(help: "Where to write the picture.")
    var png: String

    @Option(help: "Feature set: a name under the cache or a directory (default: the cache's only one).")
    var featureSet: String?

    @Option(help: "A shard file to read from directly, with --row.")
    var shard: String?

    @Option(help: "Row of --shard (0-based).")
    var row: Int?

    @Option(help: "Cache directory.")
    var cache = IngestOptions(datasetDirectory: "").cacheDirectory

    func validate() throws {
        switch (cycleID, shard) {
        case (nil, nil): throw ValidationError("give a cycle id, or --shard <file.h5> --row <n>")
        case (.some, .some): throw ValidationError("give either a cycle id or --shard, not both")
        case (nil, .some):
            guard let row else { throw ValidationError("--shard needs --row") }
            guard row >= 0 else { throw ValidationError("--row must not be negative") }
            guard featureSet == nil else { throw ValidationError("--feature-set does not apply to --shard") }
        case (.some, nil):
            guard row == nil else { throw ValidationError("--row needs --shard") }
        }
        guard png.hasSuffix(".png") else { throw ValidationError("--png must name a .png file") }
    }

    func run() throws {
        try runReportingErrors {
            let target: ShowCycle.Target
            if let shard, let row {
                target = .shardRow(path: shard, row: row)
            } else {
                target = .cycle(id: cycleID ?? "", featureSet: featureSet)
            }
            let outcome = try ShowCycle.run(target, cacheDirectory: cache, png: png)
            Console().say(outcome.summary())
        }
    }
}
