import CTorch

/// Autocast on an `ASTModel` (`ct_model_set_autocast`): the forward passes and losses of
/// training steps and evaluation run under autocast, float16 on CUDA and bfloat16 on CPU.
extension ASTModel {
    /// Turns autocast on or off; returns the compute type now used ("float16", "bfloat16"
    /// or "float32"). Throws with libtorch's reason when it cannot autocast on this device.
    @discardableResult
    public func setAutocast(_ enabled: Bool) throws(TorchError) -> String {
        var dtype: UnsafePointer<CChar>?
        try torchCheck("ct_model_set_autocast", ct_model_set_autocast(handle, enabled ? 1 : 0, &dtype))
        return dtype.map { String(cString: $0) } ?? "float32"
    }
}

extension ASTModel {
    /// Peak bytes allocated and reserved by libtorch's caching allocator on this model's GPU (the
    /// device its parameters are on, not the current one) in this process
    /// (torch.cuda.max_memory_allocated / max_memory_reserved); nil on the CPU or with a libtorch
    /// older than 2.9 (`ct_model_peak_memory`).
    public var acceleratorPeakMemory: (allocated: Int, reserved: Int)? {
        var allocated: Int64 = 0, reserved: Int64 = 0
        guard ct_model_peak_memory(handle, &allocated, &reserved) != 0 else { return nil }
        return (Int(allocated), Int(reserved))
    }
}

extension Trainer {
    /// `--resume` of a `--amp` run: continues with the checkpoint's scaler state when it has
    /// one (a run that was fp32 so far starts a fresh scaler); an fp32 resume ignores it.
    func restoreLossScale(from meta: CheckpointMeta, checkpoint: String) {
        guard let current = gradScaler else { return }
        if let saved = meta.gradScaler {
            gradScaler = saved
            report("loss scale \(formatScale(saved.scale)) (\(saved.growthTracker) clean steps) restored from \(checkpoint)")
        } else {
            report("\(checkpoint) holds no loss-scaler state (an fp32 run): starting at loss scale \(formatScale(current.scale))")
        }
    }

    /// `scaler.update()` after a training step of a `--amp` run; returns the line to log when
    /// the step was skipped (inf/NaN gradients) or the scale grew, nil otherwise.
    func updateLossScale(after losses: StepLosses, epoch: Int, step: Int) -> String? {
        guard gradScaler != nil else { return nil }
        switch gradScaler!.update(foundInf: losses.skipped) {
        case .unchanged:
            return nil
        case .backedOff(let from, let to):
            return "epoch \(epoch), step \(step): inf/NaN gradients at loss scale \(formatScale(from)): step skipped, loss scale -> \(formatScale(to))"
        case .grew(let from, let to):
            return "epoch \(epoch), step \(step): \(gradScaler!.growthInterval) steps without inf/NaN: loss scale \(formatScale(from)) -> \(formatScale(to))"
        }
    }
}

/// A loss scale as an integer when it is one (65536), else in %g form (0.5).
func formatScale(_ scale: Float) -> String {
    scale >= 1 && scale < 1e15 && scale == scale.rounded() ? String(Int64(scale)) : "\(scale)"
}
