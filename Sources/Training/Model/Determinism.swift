import CTorch

extension Torch {
    /// `train --deterministic` (`ct_set_deterministic`): libtorch's deterministic algorithms,
    /// cuDNN deterministic with benchmarking off, and CUBLAS_WORKSPACE_CONFIG=:4096:8 unless it
    /// already holds a deterministic setting. Call it first thing in the process, before any CUDA
    /// computation (cuBLAS reads the variable once). Returns what was set, for the log.
    /// What it does and does not make equal on a GPU: docs/gpu.md.
    @discardableResult
    public static func setDeterministic(_ enabled: Bool) throws(TorchError) -> String {
        var summary: UnsafeMutablePointer<CChar>?
        try torchCheck("ct_set_deterministic", ct_set_deterministic(enabled ? 1 : 0, &summary))
        defer { ct_free_string(summary) }
        return summary.map { String(cString: $0) } ?? ""
    }
}

extension ASTModel {
    /// Runs this model's training steps with the per-tensor optimizer phase the foreach one
    /// replaced (`ct_model_use_reference_optimizer`): what tests compare the foreach path with.
    /// `CTORCH_REFERENCE_OPTIMIZER=1` in the environment makes it the default for new models.
    public func useReferenceOptimizer(_ enabled: Bool) throws(TorchError) {
        try torchCheck("ct_model_use_reference_optimizer", ct_model_use_reference_optimizer(handle, enabled ? 1 : 0))
    }
}
