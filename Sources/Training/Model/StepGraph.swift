import CTorch

/// One training step's graph in libtorch (`ct_step`): a method composes it from the bridge's
/// primitives, then `finish` backpropagates, steps Adam and applies the moving average. Built
/// by `TrainingMethodDefinition.step`; freed (with every tensor in it) when it goes away.
public final class StepGraph {
    /// A tensor of this graph; valid while the graph lives.
    public struct Tensor {
        fileprivate let pointer: OpaquePointer
    }

    private let handle: OpaquePointer
    public let model: ASTModel

    init(model: ASTModel, maBeta: Float) throws(TorchError) {
        var out: OpaquePointer?
        try torchCheck("ct_step_begin", ct_step_begin(model.handle, maBeta, &out))
        handle = out!
        self.model = model
    }

    deinit { ct_step_free(handle) }

    private func make(_ function: String, _ body: (UnsafeMutablePointer<OpaquePointer?>) -> ct_status) throws(TorchError) -> Tensor {
        var out: OpaquePointer?
        try torchCheck(function, body(&out))
        return Tensor(pointer: out!)
    }

    /// Spectrograms [batch, frames, bins].
    public func input(_ x: [Float], batch: Int) throws(TorchError) -> Tensor {
        precondition(x.count == batch * model.frameSize, "batch of \(batch) needs \(batch * model.frameSize) values, got \(x.count)")
        return try make("ct_step_input") { ct_step_input(handle, x, Int64(batch), $0) }
    }

    /// Integers (labels, indices, groups); with `upper`, each must lie in [0, upper), else the
    /// error names `what`.
    public func int64s(_ values: [Int64], upper: Int = 0, what: String = "value") throws(TorchError) -> Tensor {
        try make("ct_step_int64s") { out in
            values.withUnsafeBufferPointer { ct_step_int64s(handle, $0.baseAddress, Int64(values.count), Int64(upper), what, out) }
        }
    }

    public func floats(_ values: [Float]) throws(TorchError) -> Tensor {
        try make("ct_step_floats") { ct_step_floats(handle, values, Int64(values.count), $0) }
    }

    /// The AST's features [batch, D]; with `mix`, Patch-Mix after the patch embedding.
    public func encode(_ x: Tensor, mix: (index: Tensor, mask: Tensor)? = nil) throws(TorchError) -> Tensor {
        try make("ct_step_encode") { ct_step_encode(handle, x.pointer, mix?.index.pointer, mix?.mask.pointer, $0) }
    }

    public func classify(_ features: Tensor) throws(TorchError) -> Tensor {
        try make("ct_step_classify") { ct_step_classify(handle, features.pointer, $0) }
    }

    public func project(_ features: Tensor) throws(TorchError) -> Tensor {
        try make("ct_step_project") { ct_step_project(handle, features.pointer, $0) }
    }

    public func domainClassify(_ features: Tensor) throws(TorchError) -> Tensor {
        try make("ct_step_domain_classify") { ct_step_domain_classify(handle, features.pointer, $0) }
    }

    public func detach(_ t: Tensor) throws(TorchError) -> Tensor {
        try make("ct_step_detach") { ct_step_detach(handle, t.pointer, $0) }
    }

    public func gradientReversal(_ t: Tensor, coefficient: Double) throws(TorchError) -> Tensor {
        try make("ct_step_gradient_reversal") { ct_step_gradient_reversal(handle, t.pointer, coefficient, $0) }
    }

    public func indexSelect(_ t: Tensor, _ index: Tensor) throws(TorchError) -> Tensor {
        try make("ct_step_index_select") { ct_step_index_select(handle, t.pointer, index.pointer, $0) }
    }

    /// wa * a + wb * b (a + wb * b when wa is 1).
    public func weightedSum(_ a: Tensor, _ wa: Double, _ b: Tensor, _ wb: Double) throws(TorchError) -> Tensor {
        try make("ct_step_weighted_sum") { ct_step_weighted_sum(handle, a.pointer, wa, b.pointer, wb, $0) }
    }

    public func crossEntropy(_ logits: Tensor, _ target: Tensor, weight: Tensor? = nil) throws(TorchError) -> Tensor {
        try make("ct_step_cross_entropy") { ct_step_cross_entropy(handle, logits.pointer, target.pointer, weight?.pointer, $0) }
    }

    public func patchMixContrastive(clean: Tensor, mixed: Tensor, labels: Tensor, index: Tensor, lam: Float,
                                    temperature: Float, negativePair: NegativePair) throws(TorchError) -> Tensor {
        try make("ct_step_patchmix_contrastive") {
            ct_step_patchmix_contrastive(handle, clean.pointer, mixed.pointer, labels.pointer, index.pointer, lam,
                                         temperature, negativePair.cValue, $0)
        }
    }

    /// SupCon over two views; positives share a group (nil: only the row's other view).
    public func supervisedContrastive(_ p1: Tensor, _ p2: Tensor, groups: Tensor?, temperature: Float) throws(TorchError) -> Tensor {
        try make("ct_step_supervised_contrastive") {
            ct_step_supervised_contrastive(handle, p1.pointer, p2.pointer, groups?.pointer, temperature, $0)
        }
    }

    /// Backward, Adam step, moving average (`ct_step_finish`); returns the loss, the values of
    /// `ce` and `second` (0 when nil), and whether a loss-scaled step was skipped. All four come
    /// to the host in the step's one device synchronisation.
    func finish(_ loss: Tensor, ce: Tensor?, second: Tensor?, lossScale: Float?) throws(TorchError)
        -> (loss: Double, ce: Double, second: Double, skipped: Bool) {
        var result = ct_step_result()
        try torchCheck("ct_step_finish", ct_step_finish(handle, loss.pointer, ce?.pointer, second?.pointer, lossScale ?? 0, &result))
        return (result.loss, result.ce_loss, result.second_loss, result.found_inf != 0)
    }
}
