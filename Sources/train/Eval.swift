import ArgumentParser
import Foundation
import Training

/// `train eval`: a checkpoint's figures on a feature set's test split.
struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Evaluate a checkpoint on a feature set's test split: Sp, Se, ICBHI score, 2-class view, confusion matrix.",
        discussion: """
            Reads this trainer's checkpoints (their model's shape is in their meta) and the paper code's \
            or any file with `model` v.* and `classifier` tensors (the shape comes from the tensors, with \
            --heads heads, default D / 64). Earlier spelling: `train --eval --checkpoint FILE --shards DIR`.
            """)

    @Option(help: "Checkpoint to evaluate.") var checkpoint: String
    @Option(help: "Feature set written by `prep features`: its directory, or a directory holding exactly one (`--shards cache/`).")
    var shards: String
    @Option(help: ArgumentHelp("Write one row per test cycle, recording,start,end,p_<class>...,predicted (the rows `predict` writes; JSON when FILE ends in .json).", valueName: "FILE"))
    var predictions: String?
    @OptionGroup var model: LoadedModelOptions

    func run() throws {
        try Job.perform {
            let execution = model.device.request()
            let selection = try Job.start(execution)
            try Self.evaluate(checkpoint: checkpoint, shards: try Job.locate(shards), predictions: predictions, heads: model.heads,
                              device: selection.device)
        }
    }

    /// The job, also what `train --eval` does.
    static func evaluate(checkpoint: String, shards: String, predictions: String?, heads: Int?, device: String) throws {
        let result = try TrainingSession.evaluate(checkpoint: checkpoint, shards: shards, device: device, heads: heads)
        if let predictions {
            try TrainingSession.writePredictions(result, shards: shards, to: predictions)
            writeLine("predictions: \(predictions)")
        }
    }
}
