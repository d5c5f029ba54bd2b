import Foundation
import HostCPU
import PrepKit
import TestSupport
import XCTest

/// The built `prep` says which CPU its AudioDSP was compiled for, and a haswell build refuses to
/// start on an older CPU with one clear message instead of dying of SIGILL (the older CPU played
/// by `RESPCACHE_TEST_CPUINFO`, a cpuinfo text the start-up check reads instead of /proc/cpuinfo).
final class DSPTargetTests: XCTestCase {
    func testPrepReportsItsDSPTargetAndRefusesACPUWithoutHaswellFeatures() throws {
        let version = try Fixtures.run("prep", ["--version"])
        XCTAssertEqual(version.status, 0, "\(version)")
        XCTAssertEqual(version.stdout.trimmingCharacters(in: .whitespacesAndNewlines), "prep \(ToolVersion.current) (\(HostCPU.dspTargetDescription))")

        let scratch = try Fixtures.scratchDirectory("dsp-target")
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let ivyBridge = scratch + "/cpuinfo"
        try "processor\t: 0\nflags\t\t: fpu sse sse2 ssse3 sse4_1 sse4_2 popcnt avx f16c\n\n"
            .write(toFile: ivyBridge, atomically: true, encoding: .utf8)
        let old = try Fixtures.run("prep", ["--version"], environment: ["RESPCACHE_TEST_CPUINFO": ivyBridge])
        if HostCPU.dspTarget == "haswell" {
            XCTAssertEqual(old.status, 1, "\(old)")
            XCTAssertEqual(old.stdout, "")
            XCTAssertEqual(old.stderr, "Error: this prep was built with AudioDSP for haswell (AVX2, FMA, BMI2) but this CPU "
                           + "lacks avx2, fma, bmi1, bmi2, movbe, abm: rebuild with RESPCACHE_DSP_CPU=generic make\n")
        } else {
            XCTAssertEqual(old.status, 0, "a generic build runs anywhere: \(old)")
        }
    }
}
