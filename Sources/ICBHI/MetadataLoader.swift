import Foundation

/// Reads and validates the individual metadata files for `DatasetMetadata`.
///
/// Formats (all whitespace-separated, `NA` for missing values, blank lines ignored):
/// - `official_split.txt`: `stem train|test`; every stem once.
/// - `patient_list_foldwise.txt`: `patient fold`.
/// - `demographic_info.txt`: `patient age sex adultBMI childWeight childHeight`.
/// - `patient_diagnosis.txt`: `patient diagnosis`.
/// - `filename_differences.txt`: one old stem per line, in single quotes. The old names
///   differ from the current ones only in the device (`AKGC417L` or `LittC2SE` where the
///   recording is really a Meditron one), so each maps to the same stem with device
///   `Meditron`; loading checks that this current name is in the split and the old one
///   is not, so the mapping cannot be ambiguous.
struct MetadataLoader {
    let directory: URL

    func officialSplit() throws(DatasetError) -> [RecordingStem: Split] {
        let file = DatasetMetadata.FileName.officialSplit
        var splits: [RecordingStem: Split] = [:]
        var firstLine: [RecordingStem: Int] = [:]
        for record in try records(file) {
            try expect(fieldCount: 2, in: record, file: file, format: "stem train|test")
            let stem = try parseStem(record.fields[0], in: record, file: file)
            let split: Split
            switch record.fields[1] {
            case "train": split = .train
            case "test": split = .test
            default: throw malformed(file, record, "split '\(record.fields[1])' is neither 'train' nor 'test'")
            }
            if let earlier = firstLine[stem] {
                throw .inconsistent(file: path(file), line: record.line, reason: "\(stem) already listed on line \(earlier)")
            }
            firstLine[stem] = record.line
            splits[stem] = split
        }
        return splits
    }

    func folds() throws(DatasetError) -> [Int: Int] {
        let file = DatasetMetadata.FileName.folds
        var folds: [Int: Int] = [:]
        for record in try records(file) {
            try expect(fieldCount: 2, in: record, file: file, format: "patient fold")
            let patient = try parsePatient(record.fields[0], in: record, file: file)
            guard let fold = TextRecords.integer(record.fields[1]) else {
                throw malformed(file, record, "fold '\(record.fields[1])' is not a non-negative integer")
            }
            try insert(fold, for: patient, into: &folds, record: record, file: file)
        }
        return folds
    }

    func demographics() throws(DatasetError) -> [Int: Demographics] {
        let file = DatasetMetadata.FileName.demographics
        var result: [Int: Demographics] = [:]
        for record in try records(file) {
            try expect(fieldCount: 6, in: record, file: file,
                       format: "patient age sex adultBMI childWeight childHeight")
            let fields = record.fields
            let patient = try parsePatient(fields[0], in: record, file: file)
            func number(_ column: Int, _ name: String) throws(DatasetError) -> Double? {
                let text = fields[column]
                if text == "NA" { return nil }
                guard let value = TextRecords.decimal(text), value >= 0 else {
                    throw malformed(file, record, "\(name) '\(text)' is neither a non-negative number nor NA")
                }
                return value
            }
            let demographics = Demographics(
                age: try number(1, "age"),
                sex: fields[2] == "NA" ? nil : fields[2],
                adultBMI: try number(3, "adult BMI"),
                childWeight: try number(4, "child weight"),
                childHeight: try number(5, "child height"))
            try insert(demographics, for: patient, into: &result, record: record, file: file)
        }
        return result
    }

    func diagnoses() throws(DatasetError) -> [Int: String] {
        let file = DatasetMetadata.FileName.diagnoses
        var result: [Int: String] = [:]
        for record in try records(file) {
            try expect(fieldCount: 2, in: record, file: file, format: "patient diagnosis")
            let patient = try parsePatient(record.fields[0], in: record, file: file)
            try insert(record.fields[1], for: patient, into: &result, record: record, file: file)
        }
        return result
    }

    func currentNames(known: Set<RecordingStem>) throws(DatasetError) -> [String: String] {
        let file = DatasetMetadata.FileName.filenameDifferences
        var result: [String: String] = [:]
        for record in try records(file) {
            try expect(fieldCount: 1, in: record, file: file, format: "'old_stem'")
            let old = try parseStem(unquoted(record.fields[0]), in: record, file: file)
            guard old.device != .meditron else {
                throw malformed(file, record, "old name \(old) already ends in Meditron")
            }
            guard !known.contains(old) else {
                throw .inconsistent(file: path(file), line: record.line,
                                    reason: "old name \(old) is also a current name in \(DatasetMetadata.FileName.officialSplit)")
            }
            let current = old.replacingDevice(with: .meditron)
            guard known.contains(current) else {
                throw .inconsistent(file: path(file), line: record.line,
                                    reason: "\(current), the current name for \(old), is not in \(DatasetMetadata.FileName.officialSplit)")
            }
            guard result[old.name] == nil else {
                throw .inconsistent(file: path(file), line: record.line, reason: "\(old) listed twice")
            }
            result[old.name] = current.name
        }
        return result
    }

    // MARK: - Helpers

    private func path(_ file: String) -> String { directory.appendingPathComponent(file).path }

    private func records(_ file: String) throws(DatasetError) -> [TextRecord] {
        let url = directory.appendingPathComponent(file)
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw .unreadableFile(file: url.path, reason: "cannot read: \(error.localizedDescription)")
        }
        guard let text = String(validating: data, as: UTF8.self) else {
            throw .unreadableFile(file: url.path, reason: "not valid UTF-8")
        }
        return TextRecords.split(text)
    }

    private func malformed(_ file: String, _ record: TextRecord, _ reason: String) -> DatasetError {
        .malformedLine(file: path(file), line: record.line, reason: reason)
    }

    private func expect(fieldCount: Int, in record: TextRecord, file: String, format: String) throws(DatasetError) {
        guard record.fields.count == fieldCount else {
            throw malformed(file, record, "expected \(fieldCount) field(s) '\(format)', found \(record.fields.count)")
        }
    }

    private func parsePatient(_ text: String, in record: TextRecord, file: String) throws(DatasetError) -> Int {
        guard let patient = TextRecords.integer(text) else {
            throw malformed(file, record, "patient '\(text)' is not a non-negative integer")
        }
        return patient
    }

    private func parseStem(_ text: String, in record: TextRecord, file: String) throws(DatasetError) -> RecordingStem {
        do {
            return try RecordingStem(parsing: text)
        } catch {
            throw malformed(file, record, error.description)
        }
    }

    private func insert<Value>(_ value: Value, for patient: Int, into table: inout [Int: Value],
                               record: TextRecord, file: String) throws(DatasetError) {
        guard table[patient] == nil else {
            throw .inconsistent(file: path(file), line: record.line, reason: "patient \(patient) listed twice")
        }
        table[patient] = value
    }

    private func unquoted(_ text: String) -> String {
        for quote: Character in ["'", "\""] where text.count >= 2 && text.first == quote && text.last == quote {
            return String(text.dropFirst().dropLast())
        }
        return text
    }
}
