/// Counts the complete ICBHI 2017 corpus must reproduce (REFERENCE.md, "The ICBHI 2017
/// database"). Ingest and verification compare against these to prove that nothing was
/// lost or double-counted; class arrays are indexed by `CycleLabel.rawValue`.
public enum KnownCorpusFacts {
    public static let recordings = 920
    public static let patients = 126
    public static let trainRecordings = 539
    public static let testRecordings = 381
    public static let cycles = 6898
    public static let trainCycles = 4142
    public static let testCycles = 2756
    /// normal, crackle, wheeze, both in the training split.
    public static let trainByClass = [2063, 1215, 501, 363]
    /// normal, crackle, wheeze, both in the test split.
    public static let testByClass = [1579, 649, 385, 143]
    /// normal, crackle only, wheeze only, both over all 920 recordings.
    public static let allByClass = [3642, 1864, 886, 506]
    /// Entries in `filename_differences.txt`.
    public static let renamedRecordings = 91
}
