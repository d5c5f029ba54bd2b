/// The name every ICBHI recording and its annotation share, without extension:
/// `PATIENT_INDEX_LOCATION_MODE_DEVICE`, e.g. `101_1b1_Al_sc_Meditron`.
///
/// Parsing is strict so that `name` always reproduces the parsed text exactly: the stem
/// is the key that joins audio, annotations, the split and every cache entry, and a
/// lenient parse that renamed files silently would break those joins.
public struct RecordingStem: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// Patient number (101 to 226 in ICBHI 2017).
    public let patient: Int
    /// Recording index within the patient, e.g. `1b1`; opaque, kept verbatim.
    public let recordingIndex: String
    public let location: ChestLocation
    public let mode: AcquisitionMode
    public let device: Device

    /// Builds a stem from its fields; `recordingIndex` is taken as given.
    public init(patient: Int, recordingIndex: String, location: ChestLocation, mode: AcquisitionMode, device: Device) {
        self.patient = patient
        self.recordingIndex = recordingIndex
        self.location = location
        self.mode = mode
        self.device = device
    }

    /// Parses a stem such as `101_1b1_Al_sc_Meditron` (no directory, no extension).
    ///
    /// - Throws: `DatasetError.invalidStem` whose reason names the field that is wrong.
    public init(parsing name: String) throws(DatasetError) {
        func fail(_ reason: String) -> DatasetError { .invalidStem(name: name, reason: reason) }
        let fields = name.split(separator: "_", omittingEmptySubsequences: false)
        guard fields.count == 5 else {
            throw fail("expected 5 fields PATIENT_INDEX_LOCATION_MODE_DEVICE separated by '_', found \(fields.count)")
        }
        let patientText = fields[0]
        guard !patientText.isEmpty, patientText.utf8.allSatisfy({ (0x30...0x39).contains($0) }) else {
            throw fail("patient '\(patientText)' is not a decimal number")
        }
        guard patientText.count <= 9, let patient = Int(patientText) else {
            throw fail("patient '\(patientText)' is out of range")
        }
        guard patientText == "0" || patientText.first != "0" else {
            throw fail("patient '\(patientText)' has a leading zero")
        }
        let index = fields[1]
        guard !index.isEmpty, index.utf8.allSatisfy(Self.isASCIIAlphanumeric) else {
            throw fail("recording index '\(index)' must be non-empty ASCII letters and digits")
        }
        // Matched on UTF-8 bytes: String `==` is Unicode canonical equivalence, under which the
        // KELVIN SIGN (U+212A) equals the "K" of AKGC417L and `name` would no longer be the text.
        func exactly<Value: RawRepresentable & CaseIterable>(_ field: Substring, _: Value.Type) -> Value? where Value.RawValue == String {
            Value.allCases.first { $0.rawValue.utf8.elementsEqual(field.utf8) }
        }
        guard let location = exactly(fields[2], ChestLocation.self) else {
            throw fail("location '\(fields[2])' is not one of \(ChestLocation.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard let mode = exactly(fields[3], AcquisitionMode.self) else {
            throw fail("mode '\(fields[3])' is not one of \(AcquisitionMode.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard let device = exactly(fields[4], Device.self) else {
            throw fail("device '\(fields[4])' is not one of \(Device.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        self.init(patient: patient, recordingIndex: String(index), location: location, mode: mode, device: device)
    }

    /// The stem as it appears in file names, e.g. `101_1b1_Al_sc_Meditron`.
    public var name: String {
        "\(patient)_\(recordingIndex)_\(location.rawValue)_\(mode.rawValue)_\(device.rawValue)"
    }

    public var description: String { name }

    /// The same recording as recorded by another device; used to map old archive names.
    public func replacingDevice(with device: Device) -> RecordingStem {
        RecordingStem(patient: patient, recordingIndex: recordingIndex, location: location, mode: mode, device: device)
    }

    /// Orders by patient number, then by name: a stable order that matches the archive's
    /// file listing and keeps each patient's recordings together.
    public static func < (lhs: RecordingStem, rhs: RecordingStem) -> Bool {
        lhs.patient != rhs.patient ? lhs.patient < rhs.patient : lhs.name < rhs.name
    }

    private static func isASCIIAlphanumeric(_ byte: UInt8) -> Bool {
        (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
    }
}
