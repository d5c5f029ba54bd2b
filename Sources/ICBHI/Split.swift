/// Which side of the official 60/40 ICBHI split a recording belongs to.
///
/// `unassigned` covers recordings that `official_split.txt` does not list (for instance a
/// copy of the archive that still carries old file names); they belong to neither side
/// and must not be silently counted as training data.
public enum Split: String, Sendable, Codable, CaseIterable {
    case train
    case test
    case unassigned
}
