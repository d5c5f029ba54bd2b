import ArgumentParser
import FeatureStore
import Foundation
import Training

/// What every job of `train` does around its work, in one place: one thread budget, the device
/// decided once, the feature set located, and a failure as one `train: error:` line (exit 1).
enum Job {
    /// The process-wide settings, first thing: one budget for every thread pool, all cores unless
    /// --threads (a sweep's runs get theirs explicitly, and a standalone run must compute exactly
    /// what they compute); with --deterministic, libtorch's switches, before anything touches CUDA
    /// (cuBLAS reads its workspace setting once). Returns what --deterministic set, said with the device.
    static func configureProcess(_ execution: ExecutionRequest) throws(TorchError) -> String? {
        Torch.limitThreads(to: execution.threadBudget)
        return execution.deterministic ? try Torch.setDeterministic(true) : nil
    }

    /// The device decision and, when set, what --deterministic set: the lines every job says.
    /// `devicesNote` ends the device line (a local sweep's devices of its parallel runs).
    static func describe(_ selection: DeviceSelection, determinism: String?, devicesNote: String = "") -> String {
        "device: \(selection.device) (\(selection.reason))\(devicesNote)\n" + (determinism.map { "deterministic: \($0)\n" } ?? "")
    }

    /// The device, decided once: a requested device is used or refused, never replaced.
    /// `say`: where the decision is written (nil: the caller says it).
    static func selectDevice(_ execution: ExecutionRequest, determinism: String?, in environment: CUDAEnvironment = .current(),
                             say: FileHandle? = .standardOutput) throws(TrainingError) -> DeviceSelection {
        let selection = try DeviceSelection(requested: execution.device, in: environment)
        say?.write(Data(describe(selection, determinism: determinism).utf8))
        return selection
    }

    /// The start of a job that is not `fit`: the process configured, then the device decided and said.
    static func start(_ execution: ExecutionRequest, say: FileHandle = .standardOutput) throws -> DeviceSelection {
        let determinism = try configureProcess(execution)
        return try selectDevice(execution, determinism: determinism, say: say)
    }

    /// The feature set `--shards` names; a directory holding exactly one feature set (the cache)
    /// stands for it, and the choice is said.
    static func locate(_ given: String) throws -> String {
        let found = try FeatureSetLocation.resolve(given, option: "--shards")
        if let note = found.note { writeLine(note) }
        return found.directory
    }

    /// Runs a job; any error is one line on stderr and exit status 1.
    static func perform(_ body: () throws -> Void) throws {
        do {
            try body()
        } catch let exit as ExitCode {
            throw exit
        } catch {
            FileHandle.standardError.write(Data("train: error: \(error)\n".utf8))
            throw ExitCode.failure
        }
    }
}
