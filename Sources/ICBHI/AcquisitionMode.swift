/// How a recording session captured the chest locations: the fourth field of a stem.
///
/// `sc`: one location after another with one stethoscope; `mc`: several locations at once.
/// Every ICBHI file is mono either way; the mode describes the session, not the file.
public enum AcquisitionMode: String, Sendable, CaseIterable, Codable {
    case sequential = "sc"
    case simultaneous = "mc"
}
