/// SpecAugment as the SG-SCL repository's training loop applies it: to the whole batch at once
/// (one draw of masks for every cycle, the masked value the batch's mean), in place, so that a
/// second call augments the first's output. Each view draws from its own generator (seed,
/// batchAugment, epoch, step, view).
enum BatchSpecAugment {
    static func views(of x: [Float], batch: Int, count: Int, options: TrainingOptions, at position: StepPosition,
                      frames: Int, bins: Int) -> [[Float]] {
        var current = x
        var views: [[Float]] = []
        for v in 0..<count {
            if options.specAugment {
                var rng = TrainingRNG(seed: options.seed, .batchAugment, position.epoch, position.step, v)
                current.withUnsafeMutableBufferPointer {
                    _ = SpecAugment().apply($0, frames: frames, bins: bins, spectrograms: batch, using: &rng)
                }
            }
            views.append(current)
        }
        return views
    }
}
