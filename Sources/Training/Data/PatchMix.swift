/// The Patch-Mix policy (REFERENCE.md): lam ~ Beta(mix_beta, mix_beta), a random permutation
/// of the batch, num_mask = int(P * (1 - lam)) patch positions (the first num_mask of a random
/// permutation of P), effective lam = 1 - num_mask / P.
public enum PatchMixPolicy {
    public static func decide(batch: Int, patches: Int, mixBeta: Double,
                              using rng: inout TrainingRNG) -> PatchMixDecision {
        let lam = rng.beta(mixBeta, mixBeta)
        let index = rng.permutation(batch).map(Int64.init)
        let numMask = Int(Double(patches) * (1 - lam))
        let mask = rng.permutation(patches).prefix(numMask).map(Int64.init)
        return PatchMixDecision(index: index, mask: Array(mask), lam: Float(1 - Double(numMask) / Double(patches)))
    }
}
