import XCTest
@testable import Training

/// The device is decided once: what `--device` asks is used or refused (never replaced), no
/// request means CUDA when libtorch sees a device, the CPU on a machine without an NVIDIA driver,
/// and an error where a driver is installed but libtorch cannot use it. Environments are built
/// here (a faked device count), so this runs on machines without a GPU.
final class DeviceSelectionTests: XCTestCase {
    private let cpuOnly = CUDAEnvironment(deviceCount: 0)
    private let twoGPUs = CUDAEnvironment(deviceCount: 2, libtorchCUDA: "12.8")
    private let driverButNoCUDA = CUDAEnvironment(deviceCount: 0, libtorchCUDA: "13.2",
                                                  driver: NvidiaDriver(version: "550.54.15", cuda: "12.4"))

    private func message(_ body: () throws -> Any) -> String {
        do {
            _ = try body()
            XCTFail("expected a refusal")
            return ""
        } catch {
            return "\(error)"
        }
    }

    func testWithoutARequestCUDAIsUsedWhenSeenAndTheCPUOnlyWithoutADriver() throws {
        let gpu = try DeviceSelection(requested: nil, in: twoGPUs)
        XCTAssertEqual(gpu.device, "cuda")
        XCTAssertEqual(gpu.reason, "libtorch sees 2 CUDA devices")
        let cpu = try DeviceSelection(requested: nil, in: cpuOnly)
        XCTAssertEqual(cpu, DeviceSelection(device: "cpu", reason: "no NVIDIA driver on this machine"))
    }

    /// The silent fallback of issue #24: a driver is there but libtorch cannot use it.
    func testADriverLibtorchCannotUseIsAnErrorNamingBothCUDAVersions() {
        let text = message { try DeviceSelection(requested: nil, in: self.driverButNoCUDA) }
        XCTAssertTrue(text.contains("the NVIDIA driver 550.54.15 supports CUDA 12.4, but this libtorch is a CUDA 13.2 build"), text)
        XCTAssertTrue(text.contains("pass --device cpu"), text)
        XCTAssertEqual(try DeviceSelection(requested: "cpu", in: driverButNoCUDA).device, "cpu")
        let cpuBuild = CUDAEnvironment(deviceCount: 0, driver: NvidiaDriver(version: "550.54.15", cuda: "12.4"))
        XCTAssertTrue(message { try DeviceSelection(requested: "cuda", in: cpuBuild) }.contains("this libtorch is a CPU-only build"))
    }

    /// A run told to use a device it cannot get fails; it never falls back to the CPU.
    func testARequestedDeviceIsUsedOrRefusedNeverReplaced() throws {
        XCTAssertEqual(try DeviceSelection(requested: "cuda:1", in: twoGPUs).device, "cuda:1")
        XCTAssertTrue(message { try DeviceSelection(requested: "cuda", in: self.cpuOnly) }
            .contains("--device cuda: no CUDA device: no NVIDIA driver is installed, and this libtorch is a CPU-only build"))
        let one = CUDAEnvironment(deviceCount: 1, visibleDevices: "3", libtorchCUDA: "12.8")
        XCTAssertEqual(message { try DeviceSelection(requested: "cuda:1", in: one) },
                       "device: --device cuda:1: libtorch sees 1 CUDA device (cuda:0), CUDA_VISIBLE_DEVICES=3")
        XCTAssertTrue(message { try DeviceSelection(requested: "gpu", in: self.twoGPUs) }.contains("expected cpu, cuda or cuda:<index>"))
    }

    /// `--parallel N`: slots map onto the devices visible here, an existing list respected.
    func testParallelSlotsMapOntoTheVisibleDevicesAndTooManyAreRefused() throws {
        XCTAssertEqual(try DeviceSelection.slotDevices(parallel: 2, in: twoGPUs), ["0", "1"])
        let scheduled = CUDAEnvironment(deviceCount: 3, visibleDevices: "2,5,GPU-8f3a", libtorchCUDA: "12.8")
        XCTAssertEqual(try DeviceSelection.slotDevices(parallel: 3, in: scheduled), ["2", "5", "GPU-8f3a"])
        XCTAssertEqual(message { try DeviceSelection.slotDevices(parallel: 4, in: scheduled) },
                       "device: --parallel 4 on CUDA needs 4 devices, one per run; 3 visible (CUDA_VISIBLE_DEVICES=2,5,GPU-8f3a)")
    }

    func testTheBuildsCUDAVersionIsReadOffItsConfiguration() {
        XCTAssertEqual(CUDAEnvironment.cudaVersion(inBuildConfiguration: "  - CUDA Runtime 12.8\n  - CuDNN 9.1"), "12.8")
        XCTAssertEqual(CUDAEnvironment.cudaVersion(inBuildConfiguration: "Build settings: BLAS_INFO=mkl, CUDA_VERSION=13.2, CXX_FLAGS=x"), "13.2")
        XCTAssertNil(CUDAEnvironment.cudaVersion(inBuildConfiguration: "Build settings: USE_CUDA=OFF, USE_CUDNN=OFF"))
        // This machine's libtorch answers without crashing (no GPU here: 0 devices).
        XCTAssertGreaterThanOrEqual(CUDAEnvironment.current().deviceCount, 0)
    }
}
