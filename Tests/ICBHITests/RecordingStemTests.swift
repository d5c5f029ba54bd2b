import ICBHI
import XCTest

final class RecordingStemTests: XCTestCase {
    func testParsesFields() throws {
        let stem = try RecordingStem(parsing: "101_1b1_Al_sc_Meditron")
        XCTAssertEqual(stem.patient, 101)
        XCTAssertEqual(stem.recordingIndex, "1b1")
        XCTAssertEqual(stem.location, .anteriorLeft)
        XCTAssertEqual(stem.mode, .sequential)
        XCTAssertEqual(stem.device, .meditron)
        XCTAssertEqual(stem.name, "101_1b1_Al_sc_Meditron")
        XCTAssertEqual(stem.description, stem.name)
    }

    func testAllRealStemsParseAndRoundTrip() throws {
        let names = try Fixtures.annotationStems()
        XCTAssertEqual(names.count, KnownCorpusFacts.recordings)
        var patients = Set<Int>()
        for name in names {
            let stem = try RecordingStem(parsing: name)
            XCTAssertEqual(stem.name, name)
            patients.insert(stem.patient)
        }
        XCTAssertEqual(patients.count, KnownCorpusFacts.patients)
    }

    func testOrdersByPatientNumberThenName() throws {
        let names = ["1000_1b1_Al_sc_Meditron", "101_1b2_Al_sc_Meditron", "101_1b1_Pr_sc_Meditron", "99_1b1_Tc_mc_AKGC417L"]
        let sorted = try names.map { name throws(DatasetError) in try RecordingStem(parsing: name) }.sorted().map(\.name)
        XCTAssertEqual(sorted, ["99_1b1_Tc_mc_AKGC417L", "101_1b1_Pr_sc_Meditron", "101_1b2_Al_sc_Meditron", "1000_1b1_Al_sc_Meditron"])
    }

    func testRejectsBadStemsWithReasonNamingTheField() {
        let cases: [(String, String)] = [
            ("101_1b1_Al_sc", "expected 5 fields"),
            ("101_1b1_Al_sc_Meditron_x", "expected 5 fields"),
            ("", "expected 5 fields"),
            ("101_1b1_Al_sc_Meditron.wav", "device"),
            ("1O1_1b1_Al_sc_Meditron", "patient"),
            ("_1b1_Al_sc_Meditron", "patient"),
            ("-101_1b1_Al_sc_Meditron", "patient"),
            ("0101_1b1_Al_sc_Meditron", "patient"),
            ("101__Al_sc_Meditron", "recording index"),
            ("101_1b1_Xx_sc_Meditron", "location"),
            ("101_1b1_al_sc_Meditron", "location"),
            ("101_1b1_Al_xc_Meditron", "mode"),
            ("101_1b1_Al_sc_Littmann", "device"),
        ]
        for (name, expected) in cases {
            do {
                let stem = try RecordingStem(parsing: name)
                XCTFail("'\(name)' parsed as \(stem)")
            } catch {
                guard case .invalidStem(let rejected, let reason) = error else {
                    return XCTFail("unexpected error \(error)")
                }
                XCTAssertEqual(rejected, name)
                XCTAssertTrue(reason.hasPrefix(expected), "'\(name)': reason '\(reason)' does not start with '\(expected)'")
                XCTAssertTrue(error.description.contains("'\(name)'"), error.description)
            }
        }
    }

    func testReplacingDevice() throws {
        let old = try RecordingStem(parsing: "226_1b1_Ll_sc_LittC2SE")
        XCTAssertEqual(old.replacingDevice(with: .meditron).name, "226_1b1_Ll_sc_Meditron")
    }
}
