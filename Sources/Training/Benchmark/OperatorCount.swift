import CTorch

/// libtorch operator calls made by a piece of work (`ct_op_count_*`: a RecordFunction callback,
/// what torch.profiler records). Outermost calls only: on a GPU each is about one kernel launch,
/// so this is how `--benchmark-steps` shows that the optimizer phase launches a fixed number of
/// foreach kernels instead of a few per parameter.
public struct OperatorCalls: Codable, Sendable, Equatable {
    /// Every outermost call (forward, backward, optimizer, uploads).
    public var total: Int
    /// Those of training steps' optimizer phases: the moving average's snapshot, zeroing and
    /// unscaling the gradients, the Adam step, the moving average.
    public var optimizer: Int
}

extension Torch {
    /// Runs `body` while counting libtorch's operator calls; nil calls when counting could not
    /// start (another count is running).
    public static func countingOperatorCalls<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> (result: T, calls: OperatorCalls?) {
        let started = ct_op_count_start() != 0
        var total: Int64 = 0, optimizer: Int64 = 0
        let result: T
        do { result = try body() } catch {
            if started { _ = ct_op_count_stop(nil, nil) }
            throw error
        }
        guard started, ct_op_count_stop(&total, &optimizer) != 0 else { return (result, nil) }
        return (result, OperatorCalls(total: Int(total), optimizer: Int(optimizer)))
    }
}
