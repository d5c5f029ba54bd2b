/// Dynamic loss scaling as `torch.cuda.amp.GradScaler` does it (REFERENCE.md "Mixed
/// precision"): the loss is multiplied by `scale` before the backward pass so that float16
/// gradients do not underflow; a step whose unscaled gradients hold inf/NaN is skipped and
/// the scale backs off, and after `growthInterval` consecutive clean steps it grows.
/// The tensor work (scaling the loss, unscaling and checking the gradients) happens in
/// libtorch (`ct_step_options.loss_scale`); this is the policy, and the state a checkpoint
/// carries (PyTorch's `scaler.state_dict()`: scale, factors, interval, growth tracker).
public struct GradScaler: Codable, Sendable, Equatable {
    /// PyTorch's defaults: init_scale 2^16, growth_factor 2, backoff_factor 0.5, growth_interval 2000.
    public static let defaultInitialScale: Float = 65536
    public static let defaultGrowthFactor: Float = 2
    public static let defaultBackoffFactor: Float = 0.5
    public static let defaultGrowthInterval = 2000

    /// The current loss scale (float32, as PyTorch keeps it).
    public private(set) var scale: Float
    public let growthFactor: Float
    public let backoffFactor: Float
    public let growthInterval: Int
    /// Consecutive steps without inf/NaN since the scale last changed (`_growth_tracker`).
    public private(set) var growthTracker: Int = 0

    public init(initialScale: Float = defaultInitialScale, growthFactor: Float = defaultGrowthFactor,
                backoffFactor: Float = defaultBackoffFactor, growthInterval: Int = defaultGrowthInterval) {
        precondition(initialScale > 0 && initialScale.isFinite, "the initial loss scale must be positive and finite")
        precondition(growthFactor > 1 && backoffFactor > 0 && backoffFactor < 1 && growthInterval > 0,
                     "GradScaler needs growth > 1, 0 < backoff < 1 and a positive interval")
        scale = initialScale
        self.growthFactor = growthFactor
        self.backoffFactor = backoffFactor
        self.growthInterval = growthInterval
    }

    /// Decodes a checkpoint's scaler state, refusing values the policy cannot work with (a
    /// zero or non-finite scale would silently stop or break training).
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        scale = try c.decode(Float.self, forKey: .scale)
        growthFactor = try c.decode(Float.self, forKey: .growthFactor)
        backoffFactor = try c.decode(Float.self, forKey: .backoffFactor)
        growthInterval = try c.decode(Int.self, forKey: .growthInterval)
        growthTracker = try c.decode(Int.self, forKey: .growthTracker)
        guard scale > 0 && scale.isFinite && growthFactor > 1 && backoffFactor > 0 && backoffFactor < 1
                && growthInterval > 0 && (0..<growthInterval).contains(growthTracker) else {
            throw DecodingError.dataCorrupted(.init(codingPath: c.codingPath, debugDescription:
                "loss scaler state out of range: scale \(scale), growth \(growthFactor), backoff \(backoffFactor), interval \(growthInterval), tracker \(growthTracker)"))
        }
    }

    /// What `update` did to the scale.
    public enum Change: Equatable, Sendable {
        case unchanged
        /// The step's gradients held inf/NaN: the step was skipped and the scale multiplied by the backoff factor.
        case backedOff(from: Float, to: Float)
        /// `growthInterval` clean steps in a row: the scale multiplied by the growth factor.
        case grew(from: Float, to: Float)
    }

    /// `scaler.update()` after a step (torch's `_amp_update_scale_`): on inf/NaN the scale
    /// backs off and the tracker restarts; otherwise the tracker counts, and on reaching the
    /// interval the scale grows (unless that would overflow float32) and the tracker restarts.
    @discardableResult
    public mutating func update(foundInf: Bool) -> Change {
        let old = scale
        if foundInf {
            scale *= backoffFactor
            growthTracker = 0
            return .backedOff(from: old, to: scale)
        }
        growthTracker += 1
        guard growthTracker == growthInterval else { return .unchanged }
        growthTracker = 0
        let grown = scale * growthFactor
        guard grown.isFinite else { return .unchanged }
        scale = grown
        return .grew(from: old, to: scale)
    }
}
