/// An SPRSound file stem, `<patient>_<age>_<gender>_<location>_<recording>` (README.md),
/// read from the right because the patient field may be empty (anonymised 2024/2025 files).
public struct SPRSoundName: Sendable, Equatable {
    public let stem: String
    /// The patient field as written (leading zeros kept), "" when anonymised.
    public let patientField: String
    /// The numeric patient id, -1 when the field is empty.
    public let patient: Int
    public let age: Double
    /// 0 male, 1 female.
    public let gender: Int
    /// `p1`...`p8` (p5-p8: "additional locations", 2024+).
    public let location: String
    public let recording: String

    /// Parses a stem; the error says which field is wrong.
    public init(parsing stem: String) throws(SPRSoundNameError) {
        let fields = stem.split(separator: "_", omittingEmptySubsequences: false).map(String.init)
        guard fields.count == 5 else {
            throw .init(stem: stem, reason: "\(fields.count) fields, expected 5: <patient>_<age>_<gender>_<location>_<recording>")
        }
        let (patient, age, gender, location, recording) = (fields[0], fields[1], fields[2], fields[3], fields[4])
        guard patient.allSatisfy(\.isASCIIDigit) else { throw .init(stem: stem, reason: "patient '\(patient)' is not a number") }
        if !patient.isEmpty {
            guard let id = Int(patient), id <= Int(Int32.max) else {
                throw .init(stem: stem, reason: "patient '\(patient)' does not fit a 32-bit id")
            }
            self.patient = id
        } else {
            self.patient = -1
        }
        guard !age.isEmpty, age.allSatisfy({ $0.isASCIIDigit || $0 == "." }), let years = Double(age), years.isFinite, years < 150 else {
            throw .init(stem: stem, reason: "age '\(age)' is not a number of years")
        }
        guard gender == "0" || gender == "1" else { throw .init(stem: stem, reason: "gender '\(gender)' is not 0 (male) or 1 (female)") }
        guard location.count >= 2, location.first == "p", location.dropFirst().allSatisfy(\.isASCIIDigit) else {
            throw .init(stem: stem, reason: "location '\(location)' is not p1...p8")
        }
        guard !recording.isEmpty, recording.allSatisfy(\.isASCIIDigit) else {
            throw .init(stem: stem, reason: "recording number '\(recording)' is not a number")
        }
        self.stem = stem
        patientField = patient
        self.age = years
        self.gender = gender == "0" ? 0 : 1
        self.location = location
        self.recording = recording
    }
}

public struct SPRSoundNameError: Error, Sendable, Equatable, CustomStringConvertible {
    public let stem: String
    public let reason: String
    public var description: String { "'\(stem)': \(reason)" }
}

extension Character {
    var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}
