import ICBHI

/// The order in which `--recordings N` takes recordings: the first N of it form the subset.
///
/// Recordings fall into strata by (split, rarest class among their cycles: both, wheeze,
/// crackle, normal). Within a stratum they are ordered by a fixed hash of the stem (FNV-1a,
/// independent of the seed), which spreads patients and devices. The strata are then
/// interleaved proportionally: a recording at rank `r` of a stratum of size `s` gets the key
/// `r / s`, and recordings are sorted by key, ties broken by stratum (train before test; both,
/// wheeze, crackle, normal), then by hash. So the first 8 recordings hold one of every stratum
/// (both splits, every class), and any prefix keeps the strata near their corpus proportions.
public enum SubsetOrder {
    public static func order(_ plans: [RecordingPlan]) -> [RecordingPlan] {
        struct Keyed {
            let plan: RecordingPlan
            let stratum: Int
            let hash: UInt64
            var rank = 0
            var size = 1
        }
        let classOrder: [CycleLabel] = [.both, .wheeze, .crackle, .normal]
        let splitOrder: [Split] = [.train, .test, .unassigned]
        var keyed = plans.map { plan in
            Keyed(plan: plan,
                  stratum: splitOrder.firstIndex(of: plan.split)! * classOrder.count + classOrder.firstIndex(of: plan.stratumLabel)!,
                  hash: StableHash.fnv1a(plan.stem.name))
        }
        let strata = Dictionary(grouping: keyed.indices, by: { keyed[$0].stratum })
        for members in strata.values {
            let sorted = members.sorted { (keyed[$0].hash, keyed[$0].plan.stem.name) < (keyed[$1].hash, keyed[$1].plan.stem.name) }
            for (rank, index) in sorted.enumerated() {
                keyed[index].rank = rank
                keyed[index].size = sorted.count
            }
        }
        keyed.sort { lhs, rhs in
            // r1 / s1 < r2 / s2 without rounding: r1 * s2 < r2 * s1.
            let left = lhs.rank * rhs.size, right = rhs.rank * lhs.size
            if left != right { return left < right }
            if lhs.stratum != rhs.stratum { return lhs.stratum < rhs.stratum }
            return (lhs.hash, lhs.plan.stem.name) < (rhs.hash, rhs.plan.stem.name)
        }
        return keyed.map(\.plan)
    }
}
