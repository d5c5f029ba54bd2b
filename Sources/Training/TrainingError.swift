import Foundation

/// What went wrong in training, one case per kind of event, so that a caller can tell a refused
/// option from a held lock, a failed write or a failed sweep run. `description` is the message
/// the user sees; it names what to fix (the file, the option, the run).
public enum TrainingError: Error, CustomStringConvertible, Sendable {
    /// A feature set's shards cannot be read or do not hold what training needs.
    case shards(path: String, message: String)
    /// A split (or fold selection) that training or evaluation needs has no cycles.
    case emptySplit(path: String, split: String)
    /// The spectrograms do not fit the model.
    case inputShape(String)
    /// A training step's loss was NaN or infinite: the run stops.
    case nonFiniteLoss(epoch: Int, step: Int, globalStep: Int, loss: Double)
    /// A checkpoint cannot be read, or does not fit this model or run.
    case checkpoint(path: String, message: String)
    /// A libtorch call failed.
    case torch(TorchError)
    /// An option's value is out of range, options contradict each other, or the data cannot
    /// serve them (the message names the option).
    case invalidOption(String)
    /// The run directory cannot be created, written in or locked.
    case runDirectory(String)
    /// Another process holds the run directory's lock: the run is going on elsewhere.
    case runLocked(directory: String, holder: String)
    /// A file the command writes (log, curves, results, predictions, job file) could not be written.
    case writeFailed(String)
    /// A sweep's child process could not be started or waited for.
    case processFailed(String)
    /// Runs of a local sweep failed; each entry names the run, how it ended and where its log is.
    case runsFailed(failures: [String], of: Int)
    /// `train report` found no finished run where it was pointed.
    case nothingToReport(String)
    /// `train report` was given runs that cannot stand in one table.
    case incompatibleRuns(String)
    /// The requested device cannot be used, or none was requested and the machine's is unusable.
    case device(String)

    public var description: String {
        switch self {
        case .shards(let path, let message): "\(path): \(message)"
        case .emptySplit(let path, let split): "\(path): the \(split) has no cycles"
        case .inputShape(let message): "wrong input shape for the model: \(message)"
        case .nonFiniteLoss(let epoch, let step, let global, let loss):
            "training loss is \(loss) at epoch \(epoch), step \(step) (global step \(global)); stopping"
        case .checkpoint(let path, let message): "\(path): \(message)"
        case .torch(let e): "libtorch: \(e)"
        case .invalidOption(let message), .runDirectory(let message), .writeFailed(let message),
             .processFailed(let message), .nothingToReport(let message), .incompatibleRuns(let message): message
        case .runLocked(let directory, let holder): "\(directory): running elsewhere: another train process (\(holder)) is working on this run"
        case .runsFailed(let failures, let total): "\(failures.count) of \(total) runs failed: \(failures.joined(separator: "; "))"
        case .device(let message): "device: \(message)"
        }
    }
}
