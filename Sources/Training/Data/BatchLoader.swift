import Foundation

/// One batch ready for the model: spectrograms [count, frames, bins] and labels.
public struct Batch: Sendable {
    public var x: [Float]
    public var labels: [Int64]
    /// Positions of the cycles in their source.
    public var indices: [Int]
    public var count: Int { labels.count }
}

/// Reads (and augments) batches on a background thread, up to `capacity` batches ahead of
/// the consumer. Every batch's augmentation draws from its own generator derived from
/// (seed, epoch, batch number), so results do not depend on thread timing.
public final class BatchLoader: @unchecked Sendable {
    private let condition = NSCondition()
    private var ready: [Int: Result<Batch, Error>] = [:]
    private var nextToProduce = 0
    private var nextToConsume = 0
    private var cancelled = false
    private let total: Int
    private let capacity: Int
    /// Seconds the consumer spent waiting for data.
    public private(set) var waitSeconds = 0.0

    /// - Parameters:
    ///   - batches: cycle positions of each batch, in order.
    ///   - labels: the label of every cycle (already mapped to the model's classes).
    ///   - augment: SpecAugment to apply (training), or nil.
    public init(source: any CycleSource, batches: [[Int]], labels: [Int], augment: SpecAugment?,
                seed: UInt64, epoch: Int, capacity: Int = 4) {
        total = batches.count
        self.capacity = max(1, capacity)
        let frames = source.frames, bins = source.bins
        let thread = Thread { [self] in
            for (b, members) in batches.enumerated() {
                condition.lock()
                while !cancelled && nextToProduce - nextToConsume >= self.capacity { condition.wait() }
                let stop = cancelled
                condition.unlock()
                if stop { return }
                let result = Result<Batch, Error> {
                    let n = frames * bins
                    var x = [Float](repeating: 0, count: members.count * n)
                    try x.withUnsafeMutableBufferPointer { all in
                        for (k, i) in members.enumerated() {
                            let slot = UnsafeMutableBufferPointer(rebasing: all[(k * n)..<((k + 1) * n)])
                            try source.readFeatures(i, into: slot)
                            if let augment {
                                var rng = TrainingRNG(seed: seed, .specAugment, epoch, b, k)
                                augment.apply(slot, frames: frames, bins: bins, using: &rng)
                            }
                        }
                    }
                    return Batch(x: x, labels: members.map { Int64(labels[$0]) }, indices: members)
                }
                condition.lock()
                ready[b] = result
                nextToProduce += 1
                condition.broadcast()
                condition.unlock()
                if case .failure = result { return }
            }
        }
        thread.name = "batch-loader"
        thread.start()
    }

    deinit { cancel() }

    /// The next batch in order, nil at the end; rethrows a read error.
    public func next() throws -> Batch? {
        condition.lock()
        defer { condition.unlock() }
        guard nextToConsume < total else { return nil }
        let start = DispatchTime.now().uptimeNanoseconds
        while ready[nextToConsume] == nil { condition.wait() }
        waitSeconds += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let result = ready.removeValue(forKey: nextToConsume)!
        nextToConsume += 1
        condition.broadcast()
        return try result.get()
    }

    /// Stops the background thread after its current batch.
    public func cancel() {
        condition.lock()
        cancelled = true
        condition.broadcast()
        condition.unlock()
    }
}
