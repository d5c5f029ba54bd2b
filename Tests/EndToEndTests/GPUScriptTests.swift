import Foundation
import TestSupport
import XCTest

/// `scripts/gpu_smoke.sh` picks the PyPI torch wheel the machine's NVIDIA driver can run, from
/// what `nvidia-smi` says; tested with a fake `nvidia-smi` (no GPU on the test machines).
final class GPUScriptTests: XCTestCase {
    private var directory: String!

    override func setUpWithError() throws { directory = try Fixtures.scratchDirectory("gpu-script") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: directory) }

    /// A fake nvidia-smi: its header names the driver's CUDA; the queries answer driver and compute capability.
    private func fakeSMI(cuda: String, driver: String = "580.65.06", computeCapability: String = "9.0") throws -> String {
        let path = directory + "/nvidia-smi"
        try """
            #!/bin/sh
            case "$*" in
              *driver_version*) echo "\(driver)" ;;
              *compute_cap*) echo "\(computeCapability)" ;;
              -L) echo "GPU 0: NVIDIA Fake (UUID: GPU-0)" ;;
              *) echo "| NVIDIA-SMI \(driver)   Driver Version: \(driver)   CUDA Version: \(cuda)     |" ;;
            esac
            """.write(toFile: path, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path)
        return path
    }

    /// Sources the selector as gpu_smoke.sh does; prints the chosen version.
    private func select(cuda: String, computeCapability: String = "9.0", override: String? = nil) throws -> ProcessOutput {
        let script = Fixtures.repository("scripts/torch_wheel_for_driver.sh")
        var environment = ["NVIDIA_SMI": try fakeSMI(cuda: cuda, computeCapability: computeCapability)]
        if let override { environment["TORCH_WHEEL_VERSION"] = override }
        return try Fixtures.run(executableAt: "/usr/bin/env",
                                ["bash", "-c", "set -euo pipefail; source \"$0\" || exit 1; echo \"$TORCH_WHEEL_VERSION $TORCH_WHEEL_CUDA\"", script],
                                environment: environment)
    }

    func testTheNewestWheelTheDriverSupportsIsChosen() throws {
        for (cuda, capability, expected) in [("13.2", "9.0", "2.15.0 13.2"), ("13.1", "8.9", "2.14.1 13.0"),
                                             ("12.9", "8.0", "2.10.0 12.8"), ("12.4", "8.6", "2.6.0 12.4"),
                                             ("12.2", "7.5", "2.4.1 12.1"),
                                             ("13.2", "7.0", "2.10.0 12.8")] {   // a V100: no CUDA 13 build runs there
            let result = try select(cuda: cuda, computeCapability: capability)
            XCTAssertEqual(result.status, 0, "\(result)")
            XCTAssertEqual(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines), expected, "driver CUDA \(cuda), capability \(capability)")
            XCTAssertTrue(result.stderr.contains("supports CUDA \(cuda)"), "\(result)")
        }
    }

    func testADriverTooOldOrAnOverrideThatCannotRunIsRefusedNamingBoth() throws {
        let old = try select(cuda: "11.8")
        XCTAssertEqual(old.status, 1, "\(old)")
        XCTAssertTrue(old.stderr.contains("supports CUDA 11.8, older than every PyPI wheel here"), "\(old)")
        let override = try select(cuda: "12.4", override: "2.15.0")
        XCTAssertEqual(override.status, 1, "\(override)")
        XCTAssertTrue(override.stderr.contains("TORCH_WHEEL_VERSION=2.15.0 is a CUDA 13.2 build; driver 580.65.06 supports CUDA 12.4"), "\(override)")
        let fits = try select(cuda: "12.4", override: "2.4.1")
        XCTAssertEqual(fits.stdout.trimmingCharacters(in: .whitespacesAndNewlines), "2.4.1 12.1", "\(fits)")
    }

    /// Without nvidia-smi the smoke run stops before installing or building anything.
    func testNoDriverStopsAtOnce() throws {
        let result = try Fixtures.run(executableAt: "/usr/bin/env", ["bash", Fixtures.repository("scripts/gpu_smoke.sh")],
                                      environment: ["NVIDIA_SMI": directory + "/absent-nvidia-smi", "SCRATCH": directory + "/build"])
        XCTAssertEqual(result.status, 2, "\(result)")
        XCTAssertTrue(result.stdout.contains("no nvidia-smi on this machine"), "\(result)")
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory + "/build"), "nothing built")
    }
}
