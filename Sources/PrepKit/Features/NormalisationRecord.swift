import AudioDSP
import FeatureStore

// The one mapping between the three normalisation types: what the user picks
// (`FeatureOptions.Normalisation`, the kind), what `prep features` applies (`FeatureNormalization`,
// AudioDSP, which owns the formula and its scale) and what `index.json` records
// (`FeatureSetIndex.Normalisation`, FeatureStore). `prep features` encodes with it, `predict` decodes.

extension FeatureNormalization {
    /// The kind, as options and `index.json` name it.
    public var kind: FeatureOptions.Normalisation {
        switch self {
        case .none: .none
        case .audioset: .audioset
        case .train: .train
        }
    }

    /// What a recorded normalisation applies; nil for a kind this build does not know.
    public init?(_ record: FeatureSetIndex.Normalisation) {
        guard let kind = FeatureOptions.Normalisation(rawValue: record.kind) else { return nil }
        switch kind {
        case .audioset: self = .audioset
        case .none: self = .none
        case .train: self = .train(mean: record.mean, std: record.std)
        }
    }
}

extension FeatureSetIndex.Normalisation {
    /// The record of `normalisation`: its kind, mean and std (for none, mean 0 and std 0.5 with
    /// scale 2, the identity) and AudioDSP's scale.
    public init(_ normalisation: FeatureNormalization) {
        let (mean, std) = normalisation.statistics ?? (0, 1 / FeatureNormalization.stdScale)
        self.init(kind: normalisation.kind.rawValue, mean: mean, std: std, scale: FeatureNormalization.stdScale)
    }

    /// The record of features left as they are.
    public static var unnormalised: Self { Self(FeatureNormalization.none) }
}
