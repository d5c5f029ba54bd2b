import ArgumentParser
import Foundation
import Training

/// `train benchmark --steps N`: milliseconds per training step, as one JSON line.
struct Benchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Time N training steps (after one warm-up step) of a run's options and print one JSON line.",
        discussion: """
            The steps are the run's: the model, method and options as `train` would train them, batches \
            from the background loader with SpecAugment. The JSON line is the only output on stdout (the \
            device goes to stderr). Earlier spelling: `train --benchmark-steps N`.
            """)

    @Option(help: ArgumentHelp("Training steps to time.", valueName: "N")) var steps: Int
    @Option(help: "The feature set whose train split feeds the steps, or 'random' for random spectrograms of the paper's size.")
    var shards: String
    @OptionGroup(title: "Run options") var options: RunOptions
    @OptionGroup(title: "Execution") var execution: ExecutionOptions

    func validate() throws {
        if steps < 1 { throw ValidationError("--steps must be at least 1") }
        try usageRule { () throws(TrainingError) in
            let execution = self.execution.request
            try options.request.validate(device: execution.device, amp: execution.amp)
            try execution.validate()
            if try options.request.plan().count > 1 { throw .invalidOption("benchmark takes one method and seed, not lists") }
        }
    }

    func run() throws {
        try Job.perform {
            let execution = self.execution.request
            // The benchmark's stdout is its one JSON line.
            let selection = try Job.start(execution, say: .standardError)
            try Self.measure(steps: steps, shards: shards == Self.random ? shards : try Job.locate(shards),
                             request: options.request, execution: execution, device: selection.device)
        }
    }

    /// `--shards random`: synthetic spectrograms instead of a feature set.
    static let random = "random"

    /// The job, also what `train --benchmark-steps` does: the run's options as `fit` builds them.
    static func measure(steps: Int, shards: String, request: RunRequest, execution: ExecutionRequest, device: String) throws {
        var options = request.options(for: try request.plan().runs[0], preset: try request.preset(), device: device,
                                      amp: execution.amp, outputDirectory: "")
        let source: any CycleSource = shards == random
            ? StepBenchmark.randomCycles(count: 2 * options.batchSize, frames: ModelConfig.paperInputFrames, bins: ModelConfig.paperInputBins)
            : try ShardCycles(directory: shards, split: "train", task: options.task)
        if let classes = (source as? ShardCycles)?.task?.classes.count { options.model.numClasses = classes }
        options.model.inputFrames = source.frames
        options.model.inputBins = source.bins
        let result = try StepBenchmark.measure(options: options, source: source, steps: steps)
        writeLine(String(decoding: try JSONEncoder().encode(result), as: UTF8.self))
    }
}
