import Foundation
import HDF5
import TestSupport
import XCTest

/// `../shared/golden/golden.h5` beside the repository (REFERENCE.md), located by TestSupport.
enum FbankGolden {
    static let path: String = Fixtures.goldenPath

    /// Opens the golden file, or fails the test with a clear message (never skips silently).
    static func open(file: StaticString = #filePath, line: UInt = #line) throws -> HDF5File {
        guard FileManager.default.fileExists(atPath: path) else {
            XCTFail("golden file missing: \(path) (expected ../shared/golden/golden.h5 beside the repository; "
                    + "regenerate with ../shared/tools/make_goldens.py)", file: file, line: line)
            throw CocoaError(.fileNoSuchFile)
        }
        return try HDF5File(path: path, mode: .readOnly)
    }
}

/// Max and mean absolute difference of two equally long arrays.
struct AbsoluteDifference: CustomStringConvertible {
    var max: Double = 0
    var sum: Double = 0
    var count = 0
    var mean: Double { count == 0 ? 0 : sum / Double(count) }

    mutating func add(_ a: UnsafeBufferPointer<Float>, _ b: UnsafeBufferPointer<Float>) {
        precondition(a.count == b.count)
        for i in 0..<a.count {
            let d = abs(Double(a[i]) - Double(b[i]))
            if !(d <= max) { max = d.isNaN ? .infinity : d }
            sum += d
        }
        count += a.count
    }

    mutating func add(_ a: [Float], _ b: [Float]) {
        a.withUnsafeBufferPointer { a in b.withUnsafeBufferPointer { b in add(a, b) } }
    }

    var description: String { String(format: "max abs %.3g, mean abs %.3g over %d values", max, mean, count) }
}
