import Durability
import Foundation

/// One epoch's numbers (a line of log.jsonl).
public struct EpochRecord: Codable, Sendable, Equatable {
    public var epoch: Int
    public var learningRate: Double
    public var trainLoss: Double
    public var trainCELoss: Double
    public var trainConLoss: Double
    public var steps: Int
    public var specificity: Double
    public var sensitivity: Double
    public var score: Double
    public var specificity2: Double
    public var sensitivity2: Double
    public var score2: Double
    public var best: Bool
    public var trainSeconds: Double
    public var evalSeconds: Double
    /// Fraction of the training time spent waiting for data.
    public var dataWaitFraction: Double
    public var confusion: [[Int]]
    /// The positional-embedding init of the run (`paper` / `aligned`) when it started from an
    /// AudioSet-grid `--init`; nil otherwise.
    public var posEmbed: PositionalEmbeddingInit?
    /// A label task's run (`--task`): each test split's evaluation. Its Sp/Se/score fields then
    /// hold the means over the selection splits (`TaskSelection`: SP, SE, the challenge Score),
    /// the 2-class fields those of the any-adventitious view, `confusion` the selection splits'
    /// sum. nil (absent from the line) for ICBHI runs.
    public var tests: [SplitEvaluation]? = nil
}

/// log.jsonl: one `EpochRecord` per line, exactly the epochs behind the run's checkpoints.
extension Trainer {
    func rewriteLog() throws(TrainingError) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        do {
            var data = Data()
            for record in history {
                data.append(try encoder.encode(record))
                data.append(0x0A)
            }
            try AtomicFile.write(data, to: logPath)
        } catch { throw .writeFailed("cannot write \(logPath): \(error)") }
    }

    func appendLog(_ record: EpochRecord) throws(TrainingError) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        do {
            var line = try encoder.encode(record)
            line.append(0x0A)
            if !FileManager.default.fileExists(atPath: logPath) {
                _ = FileManager.default.createFile(atPath: logPath, contents: nil)
            }
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
            defer { try? handle.close() }
            try handle.seekToEnd()
            try handle.write(contentsOf: line)
        } catch { throw .writeFailed("cannot write \(logPath): \(error)") }
    }
}
