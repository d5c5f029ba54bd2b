/// Where on the chest a recording was taken: the third field of a recording stem.
///
/// Raw values are the abbreviations the archive uses in file names.
public enum ChestLocation: String, Sendable, CaseIterable, Codable {
    case trachea = "Tc"
    case anteriorLeft = "Al"
    case anteriorRight = "Ar"
    case posteriorLeft = "Pl"
    case posteriorRight = "Pr"
    case lateralLeft = "Ll"
    case lateralRight = "Lr"
}
