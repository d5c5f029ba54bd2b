import HostCPU
import XCTest

/// The start-up check of `prep` and `bench` on injected /proc/cpuinfo texts: which flags a CPU
/// lacks for a haswell-built AudioDSP, and the message printed instead of dying of SIGILL.
final class HostCPUTests: XCTestCase {
    private let haswellFlags = "fpu vme sse sse2 ssse3 fma cx16 sse4_1 sse4_2 movbe popcnt aes xsave avx f16c abm bmi1 avx2 bmi2"
    /// An Ivy Bridge: AVX and F16C, but no AVX2, FMA, BMI, MOVBE or LZCNT.
    private let ivyBridgeFlags = "fpu vme sse sse2 ssse3 cx16 sse4_1 sse4_2 popcnt aes xsave avx f16c"

    private func cpuinfo(_ flags: String) -> String {
        "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Test CPU\nflags\t\t: \(flags)\nbugs\t\t: spectre_v1\n\n"
            + "processor\t: 1\nflags\t\t: \(flags)\n"
    }

    func testFlagsLineIsParsed() throws {
        let flags = try XCTUnwrap(HostCPU.flags(cpuinfo: cpuinfo(haswellFlags)))
        XCTAssertTrue(flags.isSuperset(of: ["avx2", "bmi2", "fma", "sse4_2", "abm"]))
        XCTAssertFalse(flags.contains("spectre_v1"), "the bugs line is not the flags line")
        XCTAssertFalse(flags.contains(""))
        // A "flagsfoo" key is not the flags line; an ARM cpuinfo has "Features", no flags: nil.
        XCTAssertNil(HostCPU.flags(cpuinfo: "flagsfoo\t: avx2\n"))
        XCTAssertNil(HostCPU.flags(cpuinfo: "processor\t: 0\nFeatures\t: fp asimd evtstrm aes\n"))
        XCTAssertNil(HostCPU.flags(cpuinfo: ""))
    }

    func testMissingFeatures() throws {
        XCTAssertEqual(HostCPU.missing(cpuinfo: cpuinfo(haswellFlags)), [])
        XCTAssertEqual(HostCPU.missing(cpuinfo: cpuinfo(ivyBridgeFlags)), ["avx2", "fma", "bmi1", "bmi2", "movbe", "abm"])
        XCTAssertEqual(HostCPU.missing(["avx2", "sse2"], cpuinfo: cpuinfo("sse sse2")), ["avx2"])
        XCTAssertNil(HostCPU.missing(cpuinfo: "Features\t: fp asimd\n"))
        // The machine running the tests: whatever it is, parsing its real cpuinfo must not fail on x86 Linux.
        #if os(Linux) && arch(x86_64)
        let real = try String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)
        XCTAssertNotNil(HostCPU.missing(cpuinfo: real))
        #endif
    }

    func testProblemOnlyForAHaswellBuildOnAnOlderCPU() {
        let old = cpuinfo(ivyBridgeFlags)
        XCTAssertEqual(HostCPU.problem(program: "prep", cpuinfo: old, dspTarget: "haswell"),
                       "Error: this prep was built with AudioDSP for haswell (AVX2, FMA, BMI2) but this CPU lacks "
                       + "avx2, fma, bmi1, bmi2, movbe, abm: rebuild with RESPCACHE_DSP_CPU=generic make")
        XCTAssertNil(HostCPU.problem(program: "prep", cpuinfo: cpuinfo(haswellFlags), dspTarget: "haswell"))
        XCTAssertNil(HostCPU.problem(program: "prep", cpuinfo: old, dspTarget: "generic"))
        XCTAssertNil(HostCPU.problem(program: "prep", cpuinfo: nil, dspTarget: "haswell"))
    }

    func testBuildTargetIsOneOfTheTwo() {
        XCTAssertTrue(["haswell", "generic"].contains(HostCPU.dspTarget))
        XCTAssertTrue(HostCPU.dspTargetDescription.contains(HostCPU.dspTarget == "haswell" ? "haswell" : "generic x86-64"))
    }
}
