import Durability
import Foundation

/// What a checkpoint's "meta" holds besides the tensors.
public struct CheckpointMeta: Codable, Sendable {
    /// /2: tensors in the paper code's layout (model v.*, classifier, projector); /1 (everything
    /// under model) still reads.
    public static let currentFormat = "icbhi-ast-checkpoint/2"
    static let readableFormats = ["icbhi-ast-checkpoint/1", currentFormat]
    public var format: String = CheckpointMeta.currentFormat
    public var options: TrainingOptions
    public var epoch: Int
    public var best: BestEpochTracker
    public var history: [EpochRecord]
    public var torch: String
    /// What `--init` loaded (the loader's one-line report), for runs that started from one.
    public var initialization: String?
    /// The loss scaler's state after `epoch` (runs with `--amp` only).
    public var gradScaler: GradScaler?

    public static func read(path: String) throws(TrainingError) -> CheckpointMeta {
        guard FileManager.default.fileExists(atPath: path) else {
            throw .checkpoint(path: path, message: "no such checkpoint")
        }
        return try read(LoadedCheckpoint(path: path))
    }

    /// The meta of an opened checkpoint; an error when it was not written by this trainer.
    public static func read(_ checkpoint: LoadedCheckpoint) throws(TrainingError) -> CheckpointMeta {
        let path = checkpoint.path
        guard let json = checkpoint.meta else {
            throw .checkpoint(path: path, message: "is not a checkpoint of this trainer (no meta entry; it is a \(checkpoint.layout.rawValue))")
        }
        return try decodeVersioned(CheckpointMeta.self, from: Data(json.utf8), path: path,
                                   formats: readableFormats, format: \.format, what: "unreadable meta")
    }
}

extension ASTModel {
    /// Writes the checkpoint bytes (`checkpointBytes(meta:)`) to `path` through `AtomicFile`: a
    /// temp file beside it, fsynced, renamed over `path`, then the directory fsynced. A kill or a
    /// power loss leaves the previous checkpoint or the new one, never a torn file; the temp file
    /// of an interrupted write is swept when the run starts again.
    public func saveCheckpoint(path: String, meta: String) throws(TrainingError) {
        let bytes: Data
        do { bytes = try checkpointBytes(meta: meta) } catch { throw .torch(error) }
        do { try AtomicFile.write(bytes, to: path) } catch {
            throw .checkpoint(path: path, message: "cannot write: \(error)")
        }
    }
}

extension Trainer {
    /// Saves the model, optimizer and this run's meta after `epoch` to `path`.
    func save(path: String, epoch: Int) throws(TrainingError) {
        let meta = CheckpointMeta(options: options, epoch: epoch, best: best, history: history, torch: Torch.version,
                                  initialization: initialization, gradScaler: gradScaler)
        let json: String
        do { json = String(decoding: try JSONEncoder().encode(meta), as: UTF8.self) } catch {
            throw .checkpoint(path: path, message: "cannot encode meta: \(error)")
        }
        try model.saveCheckpoint(path: path, meta: json)
    }
}
