import Training

/// Small in-memory corpora with learnable class structure: crackle raises a high band,
/// wheeze a low band, both raises both; normal is noise only.
public enum SyntheticCorpus {
    public static let frames = 96, bins = 48

    public static func make(count: Int, seed: UInt64) -> InMemoryCycles {
        var rng = TrainingRNG(seed: seed)
        var labels: [Int] = [], features: [Float] = []
        features.reserveCapacity(count * frames * bins)
        for i in 0..<count {
            let label = [0, 0, 1, 2, 3][i % 5]
            labels.append(label)
            let onset = rng.randint(0, frames / 2)
            for f in 0..<frames {
                for b in 0..<bins {
                    var v = Float(rng.normal() * 0.5)
                    let active = f >= onset && f < onset + frames / 2
                    if active && (label == 1 || label == 3) && b >= 32 { v += 1.0 }
                    if active && (label == 2 || label == 3) && b < 16 { v += 1.0 }
                    features.append(v)
                }
            }
        }
        return InMemoryCycles(frames: frames, bins: bins, labels: labels, features: features)
    }

    /// Options for a model sized to these corpora (ast-tiny's width, one block, strides 16).
    public static func options(output: String, epochs: Int, method: TrainingMethod = .patchmix_cl) -> TrainingOptions {
        var preset = ModelPreset.astTiny
        preset.model = ModelConfig(embedDim: 32, depth: 1, heads: 2, fstride: 16, tstride: 16,
                                   inputFrames: frames, inputBins: bins)
        var o = TrainingOptions(preset: preset, outputDirectory: output)
        o.epochs = epochs
        o.batchSize = 16
        o.learningRate = 2e-3
        o.method = method
        o.seed = 11
        return o
    }
}
