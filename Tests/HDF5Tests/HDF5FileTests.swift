import Foundation
import TestSupport
import XCTest
@testable import HDF5

final class HDF5FileTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("hdf5-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    func testRoundTripOfNumbersStringsRowsAndAttributes() throws {
        let path = directory.appendingPathComponent("a.h5").path
        do {
            let file = try HDF5File(path: path, mode: .create)
            try file.write([1.5, -2, 3, 4, 5, 6] as [Float], shape: [2, 3], to: "/group/values")
            try file.write(strings: ["101_1b1_Al_sc_Meditron#0", "x"], to: "/ids")
            let rows = try file.createDataset("/rows", of: Int32.self, shape: [3, 2], options: .init(chunks: [1, 2], deflateLevel: 4))
            for row in 0..<3 {
                let values: [Int32] = [Int32(row), Int32(row * 10)]
                try values.withUnsafeBufferPointer { try rows.write(rows: $0, at: row, count: 1) }
            }
            try file.setAttribute("name", .string("fbank ünïcode"))
            try file.setAttribute("count", .integer(42), on: "/group")
            try file.setAttribute("mean", .double(-4.2677393), on: "/group/values")
            try file.setAttribute("pair", .doubles([1, 2]))
            try file.flush()
        }
        let file = try HDF5File(path: path, mode: .readOnly)
        let (values, shape) = try file.read("/group/values", as: Float.self)
        XCTAssertEqual(values, [1.5, -2, 3, 4, 5, 6])
        XCTAssertEqual(shape, [2, 3])
        XCTAssertEqual(try file.readStrings("/ids"), ["101_1b1_Al_sc_Meditron#0", "x"])
        XCTAssertEqual(try file.dataset("/rows").read(rowsAt: 1, count: 2, as: Int32.self), [1, 10, 2, 20])
        XCTAssertEqual(try file.read("/rows", as: Double.self).0, [0, 0, 1, 10, 2, 20])
        XCTAssertEqual(try file.attribute("name"), .string("fbank ünïcode"))
        XCTAssertEqual(try file.attribute("count", on: "/group"), .integer(42))
        XCTAssertEqual(try file.attribute("mean", on: "/group/values")?.doubleValue, -4.2677393)
        XCTAssertEqual(try file.attribute("pair"), .doubles([1, 2]))
        XCTAssertNil(try file.attribute("missing"))
        XCTAssertTrue(file.contains("/group/values"))
        XCTAssertFalse(file.contains("/group/nothing"))
        XCTAssertEqual(try file.children(of: "/"), ["group", "ids", "rows"])
    }

    /// float16 datasets: IEEE binary16 in the file (2 bytes a value), our bits back unchanged,
    /// HDF5's own conversion to float32 agrees with Swift's, and the type says it is a float.
    func testFloat16DatasetRoundTrip() throws {
        let path = directory.appendingPathComponent("half.h5").path
        let values: [Float16] = [0, -0.0, 1, -2.5, 65504, -65504, .infinity, 0x1p-24, 0x1p-14, 1.0009765625, 0.333]
        do {
            let file = try HDF5File(path: path, mode: .create)
            try file.write(values, shape: [values.count], to: "/half")
            let rows = try file.createDataset("/rows", of: Float16.self, shape: [2, 3])
            let row: [Float16] = [1, 2, 3]
            try row.withUnsafeBufferPointer { try rows.write(rows: $0, at: 1, count: 1) }
            try file.flush()
        }
        let file = try HDF5File(path: path, mode: .readOnly)
        XCTAssertEqual(try file.read("/half", as: Float16.self).0.map(\.bitPattern), values.map(\.bitPattern))
        XCTAssertEqual(try file.read("/half", as: Float.self).0, values.map { Float($0) })
        XCTAssertEqual(try file.dataset("/rows").read(rowsAt: 1, as: Float16.self), [1, 2, 3])
        XCTAssertEqual(try file.dataset("/half").floatBits, 16)
        XCTAssertEqual(try file.dataset("/rows").floatBits, 16)
        let size = try XCTUnwrap(FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
        XCTAssertLessThan(size, 4096, "2-byte values expected")
    }

    func testSameWritesGiveBitIdenticalFiles() throws {
        func make(_ name: String) throws -> Data {
            let path = directory.appendingPathComponent(name).path
            do {
                let file = try HDF5File(path: path, mode: .create)
                try file.write([1, 2, 3] as [Double], shape: [3], to: "/g/x", options: .init(chunks: [1]))
                try file.setAttribute("a", .string("b"), on: "/g")
            }
            return try Data(contentsOf: URL(fileURLWithPath: path))
        }
        let first = try make("1.h5")
        Thread.sleep(forTimeInterval: 1.1)   // a timestamp would differ after a second
        XCTAssertEqual(first, try make("2.h5"))
    }

    /// Files that cannot be opened are described in words, naming the file once (issue #20:
    /// "x.h5: x.h5: HDF5 H5Fopen failed: unknown error" before); other failures name the call.
    func testErrorsNameTheFileAndTheCause() throws {
        let missing = directory.appendingPathComponent("missing.h5").path
        let garbage = directory.appendingPathComponent("garbage.h5").path
        try Data("not hdf5".utf8).write(to: URL(fileURLWithPath: garbage))
        let truncated = directory.appendingPathComponent("truncated.h5").path
        do {
            let file = try HDF5File(path: truncated, mode: .create)
            try file.write([Float](repeating: 1, count: 4096), shape: [4096], to: "/x")
        }
        let whole = try Data(contentsOf: URL(fileURLWithPath: truncated))
        try whole.prefix(whole.count / 2).write(to: URL(fileURLWithPath: truncated))
        let cases = [(missing, "missing (no such file)"), (garbage, "not a readable HDF5 file: no HDF5 signature"),
                     (truncated, "not a readable HDF5 file: truncated"), (directory.path, "not a regular file (a directory)")]
        for (path, cause) in cases {
            XCTAssertThrowsError(try HDF5File(path: path, mode: .readOnly)) { error in
                let text = String(describing: error)
                XCTAssertTrue(text.hasPrefix(path + ": " + cause), text)
                XCTAssertFalse(text.contains("H5F") || text.contains("unknown error"), text)
            }
        }
        let path = directory.appendingPathComponent("b.h5").path
        let file = try HDF5File(path: path, mode: .create)
        XCTAssertThrowsError(try file.dataset("/nope")) { error in
            XCTAssertTrue(String(describing: error).contains("/nope"))
        }
    }

    func testReadsTheSharedGoldenFile() throws {
        let golden = Fixtures.goldenPath
        guard FileManager.default.fileExists(atPath: golden) else {
            return XCTFail("golden file missing at \(golden): ../shared must sit beside the repository")
        }
        let file = try HDF5File(path: golden, mode: .readOnly)
        XCTAssertEqual(try file.dataset("/cycles/fbank").shape, [36, 798, 128])
        XCTAssertEqual(try file.readStrings("/cycles/recording").first, "101_1b1_Al_sc_Meditron")
        XCTAssertEqual(try file.attribute("loss_all", on: "/patchmix_loss")?.doubleValue ?? 0, 2.1404238, accuracy: 1e-6)
        XCTAssertEqual(try file.attribute("source_sample_rate", on: "/recordings/104_1b1_Al_sc_Litt3200"), .integer(4000))
    }
}
