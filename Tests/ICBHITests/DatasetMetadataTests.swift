import Foundation
import ICBHI
import XCTest

final class DatasetMetadataTests: XCTestCase {
    private func bundled() throws -> DatasetMetadata {
        try DatasetMetadata.bundled(repositoryRoot: Fixtures.repositoryRoot)
    }

    func testSplit() throws {
        let metadata = try bundled()
        XCTAssertEqual(metadata.annotationCount, 920)
        XCTAssertEqual(metadata.recordings(in: .train).count, 539)
        XCTAssertEqual(metadata.recordings(in: .test).count, 381)
        XCTAssertEqual(metadata.recordings(in: .unassigned), [])
        XCTAssertEqual(metadata.recordings, metadata.recordings.sorted())
        XCTAssertEqual(metadata.recordings.map(\.name).sorted(), try Fixtures.annotationStems())
        XCTAssertEqual(metadata.split(of: try RecordingStem(parsing: "101_1b1_Al_sc_Meditron")), .test)
        XCTAssertEqual(metadata.split(of: try RecordingStem(parsing: "103_2b2_Ar_mc_LittC2SE")), .train)
        XCTAssertEqual(metadata.split(of: try RecordingStem(parsing: "101_1b1_Al_sc_AKGC417L")), .unassigned)
        XCTAssertEqual(metadata.patients.count, 126)
    }

    func testFolds() throws {
        let metadata = try bundled()
        XCTAssertEqual(metadata.fold(ofPatient: 158), 0)
        XCTAssertEqual(metadata.fold(ofPatient: 101), 1)
        XCTAssertEqual(metadata.fold(ofPatient: 103), 3)
        XCTAssertNil(metadata.fold(ofPatient: 999))
        XCTAssertEqual((0...4).map { metadata.patients(inFold: $0).count }, [26, 25, 25, 25, 25])
        XCTAssertEqual(Set((0...4).flatMap { metadata.patients(inFold: $0) }), Set(metadata.patients))
    }

    func testDemographicsWithNA() throws {
        let metadata = try bundled()
        XCTAssertEqual(metadata.demographics(ofPatient: 101),
                       Demographics(age: 3, sex: "F", adultBMI: nil, childWeight: 19, childHeight: 99))
        XCTAssertEqual(metadata.demographics(ofPatient: 102),
                       Demographics(age: 0.75, sex: "F", adultBMI: nil, childWeight: 9.8, childHeight: 73))
        XCTAssertEqual(metadata.demographics(ofPatient: 103),
                       Demographics(age: 70, sex: "F", adultBMI: 33, childWeight: nil, childHeight: nil))
        XCTAssertEqual(metadata.demographics(ofPatient: 223),
                       Demographics(age: nil, sex: nil, adultBMI: nil, childWeight: nil, childHeight: nil))
        XCTAssertNil(metadata.demographics(ofPatient: 999))
        XCTAssertEqual(metadata.patients.filter { metadata.demographics(ofPatient: $0) == nil }, [])
    }

    func testDiagnoses() throws {
        let metadata = try bundled()
        XCTAssertEqual(metadata.diagnosis(ofPatient: 101), "URTI")
        XCTAssertEqual(metadata.diagnosis(ofPatient: 103), "Asthma")
        XCTAssertEqual(metadata.diagnosis(ofPatient: 223), "COPD")
        XCTAssertNil(metadata.diagnosis(ofPatient: 999))
        let known: Set = ["COPD", "Healthy", "URTI", "LRTI", "Bronchiectasis", "Bronchiolitis", "Pneumonia", "Asthma"]
        XCTAssertEqual(Set(metadata.patients.compactMap { metadata.diagnosis(ofPatient: $0) }), known)
        XCTAssertEqual(metadata.patients.filter { metadata.diagnosis(ofPatient: $0) == nil }, [])
    }

    func testOldNamesMapToCurrentNamesInTheSplit() throws {
        let metadata = try bundled()
        XCTAssertEqual(metadata.currentName(forOldName: "101_1b1_Al_sc_AKGC417L"), "101_1b1_Al_sc_Meditron")
        XCTAssertEqual(metadata.currentName(forOldName: "226_1b1_Ll_sc_LittC2SE"), "226_1b1_Ll_sc_Meditron")
        XCTAssertNil(metadata.currentName(forOldName: "101_1b1_Al_sc_Meditron"))
        XCTAssertNil(metadata.currentName(forOldName: "'101_1b1_Al_sc_AKGC417L'"))

        let text = try String(contentsOf: Fixtures.metadataDirectory.appendingPathComponent("filename_differences.txt"), encoding: .utf8)
        let oldNames = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: CharacterSet(charactersIn: "'")) }
        XCTAssertEqual(oldNames.count, 91)
        XCTAssertEqual(metadata.renamedRecordings.count, KnownCorpusFacts.renamedRecordings)
        var currentNames = Set<String>()
        for old in oldNames {
            let current = try XCTUnwrap(metadata.currentName(forOldName: old), old)
            XCTAssertTrue(current.hasSuffix("_Meditron"))
            let stem = try RecordingStem(parsing: current)
            XCTAssertNotEqual(metadata.split(of: stem), .unassigned, current)
            XCTAssertEqual(metadata.split(of: try RecordingStem(parsing: old)), .unassigned, old)
            currentNames.insert(current)
        }
        XCTAssertEqual(currentNames.count, 91)
    }

    // MARK: - Malformed metadata

    private func assertLoadFails(_ overrides: [String: String], file expectedFile: String, line: Int?, reason: String,
                                 sourceFile: StaticString = #filePath, sourceLine: UInt = #line) throws {
        let directory = try Fixtures.metadataCopy(overriding: overrides)
        defer { try? FileManager.default.removeItem(at: directory) }
        XCTAssertThrowsError(try DatasetMetadata(directory: directory), file: sourceFile, line: sourceLine) { error in
            guard let error = error as? DatasetError else { return XCTFail("\(error)", file: sourceFile, line: sourceLine) }
            XCTAssertTrue(error.file.hasSuffix(expectedFile), error.description, file: sourceFile, line: sourceLine)
            XCTAssertEqual(error.line, line, error.description, file: sourceFile, line: sourceLine)
            XCTAssertTrue(error.reason.contains(reason), error.description, file: sourceFile, line: sourceLine)
            if let line {
                XCTAssertTrue(error.description.contains("\(expectedFile):\(line): "), error.description,
                              file: sourceFile, line: sourceLine)
            }
        }
    }

    func testCopyOfBundledFilesLoads() throws {
        let directory = try Fixtures.metadataCopy(overriding: [:])
        defer { try? FileManager.default.removeItem(at: directory) }
        XCTAssertEqual(try DatasetMetadata(directory: directory).annotationCount, 920)
    }

    func testMalformedSplit() throws {
        let split = "official_split.txt"
        try assertLoadFails([split: "101_1b1_Al_sc_Meditron\ttest\n101_1b1_Xx_sc_Meditron\ttrain"],
                            file: split, line: 2, reason: "location 'Xx'")
        try assertLoadFails([split: "101_1b1_Al_sc_Meditron\tvalidation\r\n"], file: split, line: 1, reason: "neither 'train' nor 'test'")
        try assertLoadFails([split: "\n101_1b1_Al_sc_Meditron\n"], file: split, line: 2, reason: "expected 2 field(s)")
        try assertLoadFails([split: "101_1b1_Al_sc_Meditron\ttest\n\n101_1b1_Al_sc_Meditron\ttrain\n"],
                            file: split, line: 3, reason: "already listed on line 1")
    }

    func testMalformedPatientFiles() throws {
        try assertLoadFails(["patient_list_foldwise.txt": "158 0\n193 x\n"], file: "patient_list_foldwise.txt", line: 2, reason: "fold 'x'")
        try assertLoadFails(["patient_list_foldwise.txt": "158 0\n158 1\n"], file: "patient_list_foldwise.txt", line: 2, reason: "listed twice")
        try assertLoadFails(["demographic_info.txt": "101 3 F NA 19\n"], file: "demographic_info.txt", line: 1, reason: "expected 6 field(s)")
        try assertLoadFails(["demographic_info.txt": "\n101 3 F NA 19 99\n102 old F NA 9.8 73\n"],
                            file: "demographic_info.txt", line: 3, reason: "age 'old'")
        try assertLoadFails(["patient_diagnosis.txt": "101\tURTI\nP102\tHealthy\n"], file: "patient_diagnosis.txt", line: 2, reason: "patient 'P102'")
    }

    func testMalformedFilenameDifferences() throws {
        let file = "filename_differences.txt"
        try assertLoadFails([file: "'101_1b1_Al_sc_AKGC417L'\n'999_1b1_Al_sc_AKGC417L'\n"], file: file, line: 2, reason: "is not in official_split.txt")
        try assertLoadFails([file: "'101_1b1_Al_sc_Meditron'\n"], file: file, line: 1, reason: "already ends in Meditron")
        try assertLoadFails([file: "'103_2b2_Ar_mc_LittC2SE'\n"], file: file, line: 1, reason: "also a current name")
        try assertLoadFails([file: "'101_1b1_Al_sc_AKGC417L'\n'101_1b1_Al_sc_AKGC417L'\n"], file: file, line: 2, reason: "listed twice")
        try assertLoadFails([file: "'101_1b1_Al'\n"], file: file, line: 1, reason: "expected 5 fields")
    }

    func testMissingDirectory() {
        let missing = URL(fileURLWithPath: "/nonexistent/icbhi")
        XCTAssertThrowsError(try DatasetMetadata(directory: missing)) { error in
            guard case DatasetError.unreadableFile(let file, _) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(file, "/nonexistent/icbhi/official_split.txt")
        }
    }
}
