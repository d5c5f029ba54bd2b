import ArgumentParser
import Training

/// `train inspect FILE`: what a checkpoint holds and whether it loads.
struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Read a checkpoint: its layout, format and model shape; load it into that model and report the loader's findings and peak memory.",
        discussion: """
            The model is the file's meta's, or the shape its tensors imply for \(ModelConfig.paperInputFrames) x \
            \(ModelConfig.paperInputBins) inputs; it loads as --init would. No feature set needed. Earlier \
            spelling: `train --inspect-checkpoint FILE`.
            """)

    @Argument(help: "The checkpoint: the AudioSet AST, the paper code's or this trainer's.") var checkpoint: String
    @Option(help: "How the AudioSet positional-embedding grid is adapted, as with --init: paper or aligned.")
    var posEmbed: PositionalEmbeddingInit = Self.defaultPosEmbed
    static let defaultPosEmbed = TrainingOptions.defaults.posEmbed ?? .paper
    @OptionGroup var model: LoadedModelOptions

    func run() throws {
        try Job.perform {
            let execution = model.device.request()
            let selection = try Job.start(execution)
            try TrainingSession.inspect(checkpoint: checkpoint, heads: model.heads, posEmbed: posEmbed, device: selection.device)
        }
    }
}
