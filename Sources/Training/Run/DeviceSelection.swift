import CTorch
import Foundation

/// What this machine offers for training: the CUDA devices libtorch sees, the CUDA it was built
/// with, and the NVIDIA driver if one is installed. Read once per process (`current()`); tests
/// build their own, so every rule below is testable on a machine without a GPU.
public struct CUDAEnvironment: Sendable, Equatable {
    /// Devices libtorch can use (`torch::cuda::device_count`; 0 when it cannot use CUDA at all).
    public var deviceCount: Int
    /// `CUDA_VISIBLE_DEVICES` as the process found it (nil: unset).
    public var visibleDevices: String?
    /// The CUDA version this libtorch was built with ("12.8"), nil for a CPU-only build.
    public var libtorchCUDA: String?
    /// The NVIDIA driver, nil when none is installed.
    public var driver: NvidiaDriver?

    public init(deviceCount: Int, visibleDevices: String? = nil, libtorchCUDA: String? = nil, driver: NvidiaDriver? = nil) {
        self.deviceCount = deviceCount
        self.visibleDevices = visibleDevices
        self.libtorchCUDA = libtorchCUDA
        self.driver = driver
    }

    /// This process's view. Asks the driver (`nvidia-smi`) only when libtorch sees no device,
    /// to say why.
    public static func current() -> CUDAEnvironment {
        let count = Int(ct_cuda_device_count())
        var configuration = ""
        if let text = ct_build_configuration() {
            configuration = String(cString: text)
            ct_free_string(text)
        }
        return CUDAEnvironment(deviceCount: count, visibleDevices: ProcessInfo.processInfo.environment["CUDA_VISIBLE_DEVICES"],
                               libtorchCUDA: cudaVersion(inBuildConfiguration: configuration),
                               driver: count > 0 ? nil : NvidiaDriver.detect())
    }

    /// "12.8" from at::show_config()'s `CUDA_VERSION=12.8` (build settings) or `CUDA Runtime 12.8`.
    static func cudaVersion(inBuildConfiguration text: String) -> String? {
        for marker in ["CUDA_VERSION=", "CUDA Runtime "] {
            guard let range = text.range(of: marker) else { continue }
            let version = text[range.upperBound...].prefix { $0.isNumber || $0 == "." }
            if !version.isEmpty { return String(version) }
        }
        return nil
    }

    /// The device names a slot's process may use: `CUDA_VISIBLE_DEVICES`'s entries when it is
    /// set (ids or GPU UUIDs, as the scheduler gave them), else 0..<deviceCount.
    var visibleList: [String] {
        if let visibleDevices {
            return visibleDevices.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
        return (0..<deviceCount).map(String.init)
    }

    /// Why CUDA is unusable here, in the user's terms.
    var unusableReason: String {
        let build = libtorchCUDA.map { "this libtorch is a CUDA \($0) build" } ?? "this libtorch is a CPU-only build"
        guard let driver else {
            return "no CUDA device: no NVIDIA driver is installed, and \(build)"
        }
        let driverText = "the NVIDIA driver \(driver.version) supports CUDA \(driver.cuda ?? "?")"
        if let visibleDevices, visibleList.isEmpty {
            return "no CUDA device visible (CUDA_VISIBLE_DEVICES='\(visibleDevices)'); \(driverText), and \(build)"
        }
        return "\(driverText), but \(build) that sees no usable device (a wheel newer than the driver, or a CPU-only libtorch): see scripts/torch_wheel_for_driver.sh"
    }
}

/// An NVIDIA driver: its version (/proc/driver/nvidia/version) and the newest CUDA it supports
/// (`nvidia-smi`'s header).
public struct NvidiaDriver: Sendable, Equatable {
    public var version: String
    public var cuda: String?

    public init(version: String, cuda: String?) {
        self.version = version
        self.cuda = cuda
    }

    static func detect() -> NvidiaDriver? {
        guard let text = try? String(contentsOfFile: "/proc/driver/nvidia/version", encoding: .utf8) else { return nil }
        // "NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.54.15  Tue Mar  5 ..."
        let version = text.split(whereSeparator: \.isWhitespace).first { $0.contains(".") && $0.allSatisfy { $0.isNumber || $0 == "." } }
        return NvidiaDriver(version: version.map(String.init) ?? "?", cuda: smiCUDAVersion())
    }

    private static func smiCUDAVersion() -> String? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["nvidia-smi"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return nil }
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard let range = output.range(of: "CUDA Version:") else { return nil }
        let version = output[range.upperBound...].drop { $0 == " " }.prefix { $0.isNumber || $0 == "." }
        return version.isEmpty ? nil : String(version)
    }
}

/// The device a run trains on, decided once and said (`train` prints `reason`): an explicit
/// `--device` is honoured or refused, never replaced; without one, CUDA when libtorch sees a
/// device, the CPU when the machine has no NVIDIA driver, and an error when it has one that
/// libtorch cannot use (quietly training on the CPU there would waste the run).
public struct DeviceSelection: Sendable, Equatable {
    public var device: String
    public var reason: String

    /// A device decided elsewhere (an emitted job's tasks get `--device` as the user gave it).
    public init(device: String, reason: String) {
        self.device = device
        self.reason = reason
    }

    public init(requested: String?, in environment: CUDAEnvironment) throws(TrainingError) {
        switch requested {
        case "cpu":
            self.device = "cpu"
            reason = "--device cpu"
        case nil:
            if environment.deviceCount > 0 {
                self.device = "cuda"
                reason = "libtorch sees \(environment.deviceCount) CUDA device\(environment.deviceCount == 1 ? "" : "s")"
                    + (environment.visibleDevices.map { " (CUDA_VISIBLE_DEVICES=\($0))" } ?? "")
            } else if environment.driver != nil {
                throw .device("\(environment.unusableReason); pass --device cpu to train on the CPU anyway")
            } else {
                self.device = "cpu"
                reason = "no NVIDIA driver on this machine"
            }
        case let requested?:
            let index: Int
            if requested == "cuda" {
                index = 0
            } else if requested.hasPrefix("cuda:"), let parsed = Int(requested.dropFirst(5)), parsed >= 0 {
                index = parsed
            } else {
                throw .device("--device \(requested): expected cpu, cuda or cuda:<index>")
            }
            guard environment.deviceCount > 0 else { throw .device("--device \(requested): \(environment.unusableReason)") }
            guard index < environment.deviceCount else {
                throw .device("--device \(requested): libtorch sees \(environment.deviceCount) CUDA device\(environment.deviceCount == 1 ? "" : "s") (cuda:0\(environment.deviceCount > 1 ? "...cuda:\(environment.deviceCount - 1)" : ""))"
                              + (environment.visibleDevices.map { ", CUDA_VISIBLE_DEVICES=\($0)" } ?? ""))
            }
            self.device = requested
            reason = "--device \(requested), one of \(environment.deviceCount) CUDA device\(environment.deviceCount == 1 ? "" : "s") libtorch sees"
        }
    }

    /// `--parallel N` CUDA runs: slot k's `CUDA_VISIBLE_DEVICES`, one of the devices this process
    /// sees (respecting a list the user or the scheduler set). N larger than that is refused.
    public static func slotDevices(parallel: Int, in environment: CUDAEnvironment) throws(TrainingError) -> [String] {
        let visible = environment.visibleList
        guard parallel <= visible.count else {
            throw .device("--parallel \(parallel) on CUDA needs \(parallel) devices, one per run; \(visible.count) visible"
                          + (environment.visibleDevices.map { " (CUDA_VISIBLE_DEVICES=\($0))" } ?? ""))
        }
        return Array(visible.prefix(parallel))
    }
}
