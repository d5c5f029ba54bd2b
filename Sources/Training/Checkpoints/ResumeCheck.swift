import Foundation

/// What `--resume` holds a run's checkpoint to: a resumed run continues with the options stored
/// in its `last.pth`, so an option the command states otherwise is refused (naming both values)
/// rather than ignored; execution settings (`--device`, `--amp`) may change and are reported.
public enum ResumeCheck {
    /// An option that defines a run: the command-line option, what messages call its value, and
    /// its value as stored (nil: not recorded, as in checkpoints older than the option).
    public struct Field: Sendable {
        public let option: String
        let label: String
        let value: @Sendable (TrainingOptions) -> String?
    }

    /// Every option that defines a run (what a sweep's run directory and command line fix).
    public static let fields: [Field] = [
        Field(option: "--model", label: "--model") { $0.preset },
        Field(option: "--method", label: "--method") { $0.method.rawValue },
        Field(option: "--seed", label: "--seed") { String($0.seed) },
        Field(option: "--test-fold", label: "test fold") { $0.testFold.map(String.init) ?? "none (official split)" },
        Field(option: "--epochs", label: "--epochs") { String($0.epochs) },
        Field(option: "--batch-size", label: "--batch-size") { String($0.batchSize) },
        Field(option: "--lr", label: "--lr") { "\($0.learningRate)" },
        Field(option: "--weight-decay", label: "--weight-decay") { "\($0.weightDecay)" },
        Field(option: "--ma-beta", label: "--ma-beta") { "\($0.maBeta)" },
        Field(option: "--alpha", label: "--alpha") { "\($0.alpha)" },
        Field(option: "--temperature", label: "--temperature") { "\($0.temperature)" },
        Field(option: "--mix-beta", label: "--mix-beta") { "\($0.mixBeta)" },
        Field(option: "--negative-pair", label: "--negative-pair") { $0.negativePair.rawValue },
        Field(option: "--classes", label: "--classes") { String($0.model.numClasses) },
        Field(option: "--task", label: "--task") { $0.task ?? "none (ICBHI)" },
        Field(option: "--no-spec-augment", label: "SpecAugment") { $0.specAugment ? "on" : "off" },
        Field(option: "--keep-last-batch", label: "the last incomplete batch") { $0.dropLastBatch.map { $0 ? "dropped" : "kept" } },
        Field(option: "--class-weighted-loss", label: "class-weighted loss") { $0.classWeightedLoss ? "on" : "off" },
        Field(option: "--weighted-sampler", label: "weighted sampler") { $0.weightedSampler ? "on" : "off" },
        Field(option: "--init", label: "--init") { $0.initCheckpoint ?? "none" },
        Field(option: "--pos-embed", label: "--pos-embed") { $0.posEmbed?.rawValue },
    ]

    /// Every option of `fields`: what a sweep's run states (its command line defines the run whole).
    public static var allOptions: Set<String> { Set(fields.map(\.option)) }

    /// Refuses a resume whose `requested` options (those in `stated`, the ones the command line
    /// gave) differ from the `stored` ones of the checkpoint at `path`.
    public static func check(stored: TrainingOptions, requested: TrainingOptions, stated: Set<String>,
                             path: String) throws(TrainingError) {
        for field in fields where stated.contains(field.option) {
            guard let was = field.value(stored), let asked = field.value(requested), was != asked else { continue }
            throw .checkpoint(path: path, message: "is a run with \(field.label) \(was); this command asks for \(field.label) \(asked). "
                              + "--resume continues a run with its own options: leave \(field.option) out, or start a new run in another --output")
        }
    }

    /// What changes on resume without changing the run (device, mixed precision), as lines for the
    /// console; and where the checkpoint was written when that is not where the run is now.
    public static func notes(stored: TrainingOptions, requested: TrainingOptions, epoch: Int) -> [String] {
        var lines: [String] = []
        if stored.device != requested.device {
            lines.append("resume: --device \(requested.device) (epochs 1-\(epoch) ran on \(stored.device))")
        }
        if (stored.amp ?? false) != (requested.amp ?? false) {
            lines.append("resume: mixed precision \(requested.amp == true ? "on" : "off") (epochs 1-\(epoch) ran with it \(stored.amp == true ? "on" : "off"))")
        }
        let was = URL(fileURLWithPath: stored.outputDirectory).standardizedFileURL.path
        let now = URL(fileURLWithPath: requested.outputDirectory).standardizedFileURL.path
        if was != now {
            lines.append("resume: the checkpoint was written in \(stored.outputDirectory) (moved or copied since); this run writes only to \(requested.outputDirectory)")
        }
        return lines
    }
}
