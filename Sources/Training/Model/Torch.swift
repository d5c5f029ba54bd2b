import CTorch
import Foundation

/// A libtorch call failed (the C API's status and message, with the C function's name).
public struct TorchError: Error, CustomStringConvertible, Sendable {
    public let function: String
    public let message: String
    /// The loss was NaN or infinite (`CT_NONFINITE_LOSS`): the step was not applied.
    public let nonFiniteLoss: Bool

    public var description: String { "\(function): \(message)" }
}

/// Raw call -> Result with the C API's status and message.
func torchResult(_ function: String, _ status: ct_status) -> Result<Void, TorchError> {
    if status == CT_OK { return .success(()) }
    let message = String(cString: ct_last_error())
    return .failure(TorchError(function: function, message: message.isEmpty ? "failed" : message,
                               nonFiniteLoss: status == CT_NONFINITE_LOSS))
}

func torchCheck(_ function: String, _ status: ct_status) throws(TorchError) {
    try torchResult(function, status).get()
}

/// Process-wide libtorch settings.
public enum Torch {
    /// libtorch's version (`ct_torch_version`).
    public static var version: String { String(cString: ct_torch_version()) }
    /// Whether libtorch was built with CUDA and sees a device (`ct_cuda_is_available`).
    public static var cudaAvailable: Bool { ct_cuda_is_available() != 0 }
    /// Seeds libtorch's generators (`torch::manual_seed`): parameter initialisation.
    public static func manualSeed(_ seed: UInt64) { ct_manual_seed(seed) }
    /// Keeps libtorch's CPU tensors on the heap between steps (`ct_configure_allocator`: no
    /// mmap for allocations, heap trimmed only above 1 GiB free). Without it glibc maps and
    /// unmaps every big activation each step: for ast-tiny at batch 16, 2.1 M page faults and
    /// ~1.8x the CPU time per step (Python PyTorch pays the same). Idempotent, process-wide.
    @discardableResult
    public static func configureAllocatorForTraining() -> Bool {
        ct_configure_allocator(0, 1 << 30) != 0
    }

    /// Intra-op threads (`torch::set_num_threads` / `get_num_threads`).
    public static var threads: Int {
        get { Int(ct_get_num_threads()) }
        set { ct_set_num_threads(Int32(newValue)) }
    }

    /// OpenBLAS's own threads (`ct_get_blas_threads`), nil when the BLAS in use has no such knob.
    public static var blasThreads: Int? {
        let n = Int(ct_get_blas_threads())
        return n > 0 ? n : nil
    }

    /// Bounds all of training's CPU threads to `budget` (`--threads`): libtorch's intra-op pool and
    /// OpenBLAS's pool would otherwise each take every core, and together oversubscribe them.
    public static func limitThreads(to budget: Int) {
        let plan = ThreadBudget(budget)
        threads = plan.intraOp
        _ = ct_set_blas_threads(Int32(plan.blas))
    }

    /// What `train` reports: the threads it really uses.
    public static var threadSummary: String {
        "\(threads) intra-op thread\(threads == 1 ? "" : "s"), BLAS " + (blasThreads.map { "\($0) thread\($0 == 1 ? "" : "s")" } ?? "threads not controlled (not OpenBLAS)")
    }
}

/// The Patch-Mix decision for one batch, made in Swift (REFERENCE.md "Patch-Mix").
public struct PatchMixDecision: Sendable, Equatable {
    /// Permutation of the batch: row i takes patches from row index[i].
    public var index: [Int64]
    /// Patch positions replaced (the first num_mask of a permutation of the P positions).
    public var mask: [Int64]
    /// Effective lambda, 1 - mask.count / P.
    public var lam: Float
}

/// The training objective's settings for one step (the method and the options it reads).
public struct StepObjective: Sendable {
    public var method: TrainingMethod
    public var alpha: Float
    public var temperature: Float
    public var negativePair: NegativePair
    public var classWeights: [Float]?
    public var maBeta: Float
    /// SG-SCL's `--target-type`.
    public var targetType: ContrastiveTarget

    public init(method: TrainingMethod, alpha: Float, temperature: Float, negativePair: NegativePair,
                classWeights: [Float]?, maBeta: Float, targetType: ContrastiveTarget = .project1_project2block) {
        self.targetType = targetType
        self.method = method
        self.alpha = alpha
        self.temperature = temperature
        self.negativePair = negativePair
        self.classWeights = classWeights
        self.maBeta = maBeta
    }
}

public struct StepLosses: Sendable, Equatable {
    public var loss: Double
    /// The classification term (mixup CE for patchmix).
    public var ceLoss: Double
    /// The method's second term before its weight alpha (contrastive or domain loss; 0 if none).
    public var conLoss: Double
    /// Loss-scaled steps only: the gradients held inf/NaN, so the step was not applied.
    public var skipped: Bool = false
}

/// One AST with its classifier head, projector and Adam optimizer, living in libtorch
/// (`ct_model*`, freed in deinit). Not thread-safe: use it from one thread at a time.
public final class ASTModel {
    let handle: OpaquePointer
    public let config: ModelConfig
    public let device: String
    /// Patch grid: frequency x time patches, and P = their product.
    public let fDim: Int, tDim: Int
    public var numPatches: Int { fDim * tDim }

    /// Builds a freshly initialised model (`ct_model_create`); seed libtorch first for repeatable weights.
    public init(config: ModelConfig, device: String = "cpu") throws(TorchError) {
        var c = config.cConfig
        var out: OpaquePointer?
        try torchCheck("ct_model_create", ct_model_create(&c, device, &out))
        handle = out!
        self.config = config
        self.device = device
        var f: Int64 = 0, t: Int64 = 0
        _ = ct_model_num_patches(handle, &f, &t)
        fDim = Int(f)
        tDim = Int(t)
    }

    deinit { ct_model_free(handle) }

    /// Trainable scalars (`ct_model_num_parameters`).
    public var parameterCount: Int { Int(ct_model_num_parameters(handle)) }

    /// Creates Adam (`ct_model_configure_optimizer`).
    public func configureOptimizer(learningRate: Double, weightDecay: Double) throws(TorchError) {
        try torchCheck("ct_model_configure_optimizer", ct_model_configure_optimizer(handle, learningRate, weightDecay))
    }

    /// `ct_model_set_learning_rate`.
    public func setLearningRate(_ lr: Double) throws(TorchError) {
        try torchCheck("ct_model_set_learning_rate", ct_model_set_learning_rate(handle, lr))
    }

    var frameSize: Int { config.inputFrames * config.inputBins }

    /// One optimisation step of `objective.method` with the given random decisions (`mix` for the
    /// Patch-Mix methods): what the trainer runs, with draws injectable (goldens, tests). With a
    /// `lossScale` (mixed precision, see `GradScaler`) the step backpropagates the scaled loss and
    /// is skipped, not thrown, when the gradients hold inf/NaN.
    public func trainStep(x: [Float], labels: [Int64], objective: StepObjective, mix: PatchMixDecision?,
                          groups: [Int64]? = nil, draws: StepDraws = StepDraws(),
                          lossScale: Float? = nil) throws(TorchError) -> StepLosses {
        var draws = draws
        if let mix { draws.mix = mix }
        let input = StepInput(x: x, labels: labels, groups: groups, draws: draws)
        return try objective.method.definition.step(model: self, input: input, objective: objective, lossScale: lossScale)
    }

    /// Eval-mode features [batch, D] (`ct_model_features`).
    public func features(x: [Float], batch: Int) throws(TorchError) -> [Float] {
        precondition(x.count == batch * frameSize, "wrong input size")
        var out = [Float](repeating: 0, count: batch * config.embedDim)
        try torchCheck("ct_model_features", ct_model_features(handle, x, Int64(batch), &out))
        return out
    }

    /// Eval-mode logits [batch, classes] (`ct_model_logits`).
    public func logits(x: [Float], batch: Int) throws(TorchError) -> [Float] {
        precondition(x.count == batch * frameSize, "wrong input size")
        var out = [Float](repeating: 0, count: batch * config.numClasses)
        try torchCheck("ct_model_logits", ct_model_logits(handle, x, Int64(batch), &out))
        return out
    }

    /// One entry of the model's state dict (a parameter or a buffer).
    public struct StateEntry: Sendable, Equatable {
        public var name: String
        public var shape: [Int]
        /// Float32 parameters and statistics; false for integer buffers (num_batches_tracked).
        public var isFloatingPoint: Bool
        public var isParameter: Bool
        public var count: Int { shape.reduce(1, *) }
    }

    /// Parameters then buffers, in state-dict order (`ct_model_state_info`).
    public private(set) lazy var stateEntries: [StateEntry] = {
        let parameters = Int(ct_model_state_parameter_entries(handle))
        return (0..<Int(ct_model_state_count(handle))).map { i in
            var name: UnsafePointer<CChar>?
            var dtype: Int32 = 0, ndim: Int32 = 0
            var shape = [Int64](repeating: 0, count: Int(CT_MAX_DIMS))
            _ = ct_model_state_info(handle, Int64(i), &name, &dtype, &shape, &ndim)
            return StateEntry(name: String(cString: name!), shape: shape.prefix(Int(ndim)).map(Int.init),
                              isFloatingPoint: dtype == Int32(CT_FLOAT32.rawValue), isParameter: i < parameters)
        }
    }()

    /// Index of the state entry called `name`.
    public func stateIndex(_ name: String) -> Int? { stateEntries.firstIndex { $0.name == name } }

    /// Overwrites state entry `index` with float values (`ct_model_state_set`).
    public func setState(_ index: Int, _ values: UnsafeBufferPointer<Float>) throws(TorchError) {
        try torchCheck("ct_model_state_set", ct_model_state_set(handle, Int64(index), values.baseAddress,
                                                               Int32(CT_FLOAT32.rawValue), Int64(values.count)))
    }

    /// Overwrites integer state entry `index` (`ct_model_state_set`).
    public func setState(_ index: Int, int64s values: [Int64]) throws(TorchError) {
        try torchCheck("ct_model_state_set", ct_model_state_set(handle, Int64(index), values,
                                                               Int32(CT_INT64.rawValue), Int64(values.count)))
    }

    /// The values of state entry `name` as Float (`ct_model_state_get`).
    public func state(_ name: String) throws(TorchError) -> [Float] {
        guard let i = stateIndex(name) else { throw TorchError(function: "state", message: "no entry \(name)", nonFiniteLoss: false) }
        var out = [Float](repeating: 0, count: stateEntries[i].count)
        try torchCheck("ct_model_state_get", ct_model_state_get(handle, Int64(i), &out, Int32(CT_FLOAT32.rawValue), Int64(out.count)))
        return out
    }

    /// Restores Adam's moments and step for parameter entry `index` (`ct_model_set_adam_state`).
    public func setAdamState(_ index: Int, expAvg: [Float], expAvgSq: [Float], step: Int64) throws(TorchError) {
        try torchCheck("ct_model_set_adam_state", ct_model_set_adam_state(handle, Int64(index), expAvg, expAvgSq,
                                                                          Int64(expAvg.count), step))
    }

    /// Forgets Adam's state (`ct_model_clear_adam_state`).
    public func clearAdamState() throws(TorchError) {
        try torchCheck("ct_model_clear_adam_state", ct_model_clear_adam_state(handle))
    }

    /// A checkpoint's bytes: weights, Adam state and `meta` in the paper code's layout
    /// (`ct_model_checkpoint_bytes`, handed over without a copy). `saveCheckpoint` writes them.
    public func checkpointBytes(meta: String) throws(TorchError) -> Data {
        var buffer = ct_buffer()
        try torchCheck("ct_model_checkpoint_bytes", ct_model_checkpoint_bytes(handle, meta, &buffer))
        guard let base = buffer.data, buffer.size > 0 else {
            ct_buffer_free(&buffer)
            return Data()
        }
        let owner = UInt(bitPattern: buffer.owner)
        return Data(bytesNoCopy: UnsafeMutableRawPointer(mutating: base), count: buffer.size,
                    deallocator: .custom { _, _ in
                        var released = ct_buffer(data: nil, size: 0, owner: UnsafeMutableRawPointer(bitPattern: owner))
                        ct_buffer_free(&released)
                    })
    }

    /// Test hook: adds `value` to every parameter (`ct_model_debug_fill`).
    public func debugAddToParameters(_ value: Float) throws(TorchError) {
        try torchCheck("ct_model_debug_fill", ct_model_debug_fill(handle, value))
    }
}

/// The Patch-Mix contrastive loss on given features (`ct_patchmix_con_loss`).
public func patchMixContrastiveLoss(projClean: [Float], projMixed: [Float], batch: Int, dim: Int,
                                    labels: [Int64], index: [Int64], lam: Float, temperature: Float,
                                    negativePair: NegativePair) throws(TorchError) -> Double {
    precondition(projClean.count == batch * dim && projMixed.count == batch * dim)
    precondition(labels.count == batch && index.count == batch)
    var out = 0.0
    try torchCheck("ct_patchmix_con_loss", ct_patchmix_con_loss(projClean, projMixed, Int64(batch), Int64(dim), labels,
                                                                index, lam, temperature, negativePair.cValue, &out))
    return out
}

/// The AST code's cut / bilinear interpolation of a positional embedding [2 + gridF * gridT, dim]
/// to fDim x tDim (`ct_pos_embed_adapt`); returns [2 + fDim * tDim, dim].
public func adaptPositionalEmbedding(_ pos: UnsafeBufferPointer<Float>, dim: Int, grid: (f: Int, t: Int),
                                     to target: (f: Int, t: Int)) throws(TorchError) -> [Float] {
    precondition(pos.count == (2 + grid.f * grid.t) * dim)
    var out = [Float](repeating: 0, count: (2 + target.f * target.t) * dim)
    try torchCheck("ct_pos_embed_adapt", ct_pos_embed_adapt(pos.baseAddress, Int64(dim), Int64(grid.f), Int64(grid.t),
                                                            Int64(target.f), Int64(target.t), &out))
    return out
}

/// How a budget of CPU threads is split between libtorch's intra-op pool and OpenBLAS's pool.
/// The matrix products (OpenBLAS) dominate an AST step; libtorch's OpenMP workers spin after
/// each parallel region and then steal the cores OpenBLAS needs, so libtorch keeps one thread
/// and OpenBLAS gets the budget (measured: docs/experiments.md, "Threads").
public struct ThreadBudget: Equatable, Sendable {
    public var intraOp: Int
    public var blas: Int

    public init(_ budget: Int) {
        let n = max(1, budget)
        intraOp = 1
        blas = n
    }
}
